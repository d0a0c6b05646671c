//! Hot SKUs' Durable Objects (src/domain/hot.rs has the protocol and why it is safe): the call
//! from either Worker to a shard, and (back office) the object itself, a SQLite-backed Durable
//! Object holding a share of one SKU's stock per location and the reservations taken from it.
//! The class lives in the back-office Worker; the storefront binds it by script name.

#[cfg(feature = "backoffice")]
use crate::app::hot::{flying, holds};
use crate::app::ports::StoreError;
#[cfg(feature = "backoffice")]
use crate::domain::hot::Units;
use crate::domain::hot::{HotSku, ShardCall, ShardState};
use worker::{Env, Method, Request, RequestInit};

/// The binding of the hot-stock objects' namespace, in both Workers.
pub const BINDING: &str = "HOT_STOCK";

/// One call to one shard's object.
pub async fn call(
    env: &Env,
    hot: &HotSku,
    shard: usize,
    call: &ShardCall,
) -> Result<ShardState, StoreError> {
    let failed = |e: worker::Error| {
        StoreError::Unavailable(format!("hot stock {}: {e}", hot.object_name(shard)))
    };
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(&hot.object_name(shard)))
        .map_err(failed)?;
    let body = serde_json::to_string(call).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let req = Request::new_with_init("https://hot-stock/", &init).map_err(failed)?;
    let mut res = stub.fetch_with_request(req).await.map_err(failed)?;
    if res.status_code() != 200 {
        let text = res.text().await.unwrap_or_default();
        return Err(StoreError::Unavailable(format!(
            "hot stock {} answered {}: {text}",
            hot.object_name(shard),
            res.status_code()
        )));
    }
    res.json::<ShardState>().await.map_err(failed)
}

/// The objects as seen from a Worker's environment.
pub struct EnvObjects<'a>(pub &'a Env);

impl crate::app::ports::HotObjects for EnvObjects<'_> {
    async fn shard(
        &self,
        hot: &HotSku,
        shard: usize,
        c: &ShardCall,
    ) -> Result<ShardState, StoreError> {
        call(self.0, hot, shard, c).await
    }

    /// Outside a request (no `waitUntil` here): made at once, its failure logged.
    fn later(&self, hot: &HotSku, shard: usize, c: ShardCall) {
        let (env, hot) = (self.0.clone(), hot.clone());
        worker::wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = call(&env, &hot, shard, &c).await {
                worker::console_warn!("hot stock: a call failed, the alarm will settle it: {e}");
            }
        });
    }
}

/// What `hot`'s objects hold for checkouts still in flight (reservations no order holds yet:
/// an order's `hot_holds` row says it holds one), per location. For display: a checkout that commits between the reads can show for a moment.
#[cfg(feature = "backoffice")]
pub async fn in_flight(
    env: &Env,
    db: &crate::store::d1::Db,
    hot: &HotSku,
) -> Result<Units, StoreError> {
    let (_, holds) = holds(&EnvObjects(env), hot).await?;
    let ids: Vec<String> = holds.keys().cloned().collect();
    let placed = crate::store::inventory::placed_holds(db, &ids).await?;
    Ok(flying(&holds, &placed))
}

/// The cron's check of every hot SKU: where its objects have drifted from D1 (stock moved in D1
/// alone: a restock, a canceled or expired order, an import), it is split again from D1 at a
/// new generation, as a switch does (checkouts in flight plan again). Answers the SKUs split
/// again; a SKU whose check fails is logged and the others are checked.
///
/// The objects are read, then D1 (the levels and the reservations recent orders hold, in one
/// batch), then the objects again. Checkouts between the reads skew each comparison one way
/// only: against the first reading, a checkout that took and committed in between makes D1
/// look short (the drift errs low); against the second, one that committed after D1's read and
/// settled before it makes the objects look short (the drift errs high). A real drift shows in
/// both with the same sign; a busy SKU in step never does.
#[cfg(feature = "backoffice")]
pub async fn reconcile(
    env: &Env,
    db: &crate::store::d1::Db,
    now_ms: f64,
    id: impl Fn() -> String,
) -> Result<Vec<String>, StoreError> {
    use crate::domain::hot::drift;
    use crate::store::inventory;
    let now = crate::app::ports::iso_at(now_ms);
    // A reservation lives at most its TTL (600 s by default) before the alarm ends it: a day
    // back covers every one an object can still hold.
    let since = crate::app::ports::iso_at(now_ms - 86_400_000.0);
    let mut done = Vec::new();
    for hot in inventory::hot_skus(db).await? {
        let sku = hot.sku.clone();
        let check = async {
            let (before, before_holds) = holds(&EnvObjects(env), &hot).await?;
            let (read, placed) =
                inventory::level_and_holds(db, &sku, crate::domain::stock::MAIN, Some(&since))
                    .await?;
            if read.hot.as_ref().and_then(|h| h.hot()).as_ref() != Some(&hot) {
                return Ok(false); // switched meanwhile
            }
            let (after, after_holds) = holds(&EnvObjects(env), &hot).await?;
            let d1 = read.available();
            let low = drift(&d1, &before, &flying(&before_holds, &placed));
            let high = drift(&d1, &after, &flying(&after_holds, &placed));
            let real = low.iter().any(|(l, n)| {
                high.get(l)
                    .is_some_and(|m| (*n > 0 && *m > 0) || (*n < 0 && *m < 0))
            });
            if !real {
                return Ok(false);
            }
            let reason = format!(
                "mode hot, {} shards, split again: the objects differed from D1 by {low:?} to {high:?}",
                hot.shards()
            );
            match inventory::switch(db, &sku, &read, hot.shards(), &reason, &id(), &now).await {
                Ok(()) => Ok(true),
                // Switched meanwhile: the next tick looks again.
                Err(StoreError::Refused(_)) => Ok(false),
                Err(e) => Err(e),
            }
        };
        match check.await {
            Ok(true) => done.push(sku),
            Ok(false) => {}
            Err(e) => worker::console_error!("cron: reconciling hot SKU {sku} failed: {e}"),
        }
    }
    Ok(done)
}

/// The object (its class is exported by the `#[durable_object]` attribute).
#[cfg(feature = "backoffice")]
mod object {
    use crate::domain::hot::{ShardCall, ShardState, Units};
    use serde::Deserialize;
    use worker::{
        durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State,
    };

    /// One shard of one hot SKU of one generation (its name: `sku|generation|shard`).
    #[durable_object]
    pub struct HotStock {
        state: State,
        env: Env,
    }

    #[derive(Deserialize)]
    struct Level {
        location: String,
        n: i64,
    }

    #[derive(Deserialize)]
    struct Id {
        id: String,
    }

    #[derive(Deserialize)]
    struct HoldRow {
        id: String,
        location: String,
        n: i64,
    }

    #[derive(Deserialize)]
    struct Next {
        at: Option<f64>,
    }

    impl HotStock {
        fn sql(&self) -> SqlStorage {
            self.state.storage().sql()
        }

        /// Takes `init` as its stock the first time it is called (a new generation's object).
        fn ensure(&self, sku: &str, generation: i64, init: &Units) -> Result<()> {
            let sql = self.sql();
            let known = sql
                .exec("SELECT v AS id FROM meta WHERE k = 'sku'", None)?
                .to_array::<Id>()?;
            if !known.is_empty() {
                return Ok(());
            }
            sql.exec(
                "INSERT INTO meta (k, v) VALUES ('sku', ?), ('generation', ?)",
                vec![sku.into(), generation.to_string().into()],
            )?;
            for (location, n) in init {
                sql.exec(
                    "INSERT INTO stock (location, available) VALUES (?, ?)",
                    vec![location.as_str().into(), (*n).max(0).into()],
                )?;
            }
            Ok(())
        }

        fn units(&self, query: &str) -> Result<Units> {
            Ok(self
                .sql()
                .exec(query, None)?
                .to_array::<Level>()?
                .into_iter()
                .map(|l| (l.location, l.n))
                .collect())
        }

        fn held_by(&self, id: &str) -> Result<Units> {
            Ok(self
                .sql()
                .exec(
                    "SELECT location, quantity AS n FROM holds WHERE id = ?",
                    vec![id.into()],
                )?
                .to_array::<Level>()?
                .into_iter()
                .map(|l| (l.location, l.n))
                .collect())
        }

        fn state_with(&self, taken: Units) -> Result<ShardState> {
            Ok(ShardState {
                taken,
                available: self.units("SELECT location, available AS n FROM stock")?,
                held: self
                    .units("SELECT location, SUM(quantity) AS n FROM holds GROUP BY location")?,
                holds: Default::default(),
            })
        }

        /// Takes up to `want` per location under `id`; the same id again answers what it took.
        fn take(&self, id: &str, want: &Units, expires_at_ms: i64) -> Result<Units> {
            let before = self.held_by(id)?;
            if !before.is_empty() {
                return Ok(before);
            }
            let sql = self.sql();
            let mut taken = Units::new();
            for (location, n) in want {
                let have = sql
                    .exec(
                        "SELECT location, available AS n FROM stock WHERE location = ?",
                        vec![location.as_str().into()],
                    )?
                    .to_array::<Level>()?
                    .first()
                    .map_or(0, |l| l.n);
                let t = have.min(*n);
                if t <= 0 {
                    continue;
                }
                // One conditional statement: never below zero, whatever came between.
                let took = sql.exec(
                    "UPDATE stock SET available = available - ?2 WHERE location = ?1 AND available >= ?2",
                    vec![location.as_str().into(), t.into()],
                )?;
                let _ = took.to_array::<serde_json::Value>()?;
                if took.rows_written() != 1 {
                    continue;
                }
                sql.exec(
                    "INSERT INTO holds (id, location, quantity, expires_at) VALUES (?, ?, ?, ?)",
                    vec![
                        id.into(),
                        location.as_str().into(),
                        t.into(),
                        expires_at_ms.into(),
                    ],
                )?;
                taken.insert(location.clone(), t);
            }
            Ok(taken)
        }

        /// Gives `id`'s units back to the stock.
        fn release(&self, id: &str) -> Result<()> {
            let sql = self.sql();
            for (location, n) in self.held_by(id)? {
                sql.exec(
                    "INSERT INTO stock (location, available) VALUES (?1, ?2) \
                     ON CONFLICT (location) DO UPDATE SET available = available + ?2",
                    vec![location.into(), n.into()],
                )?;
            }
            sql.exec("DELETE FROM holds WHERE id = ?", vec![id.into()])?;
            Ok(())
        }

        fn settle(&self, id: &str) -> Result<()> {
            self.sql()
                .exec("DELETE FROM holds WHERE id = ?", vec![id.into()])?;
            Ok(())
        }

        /// Wakes at the earliest expiry held.
        async fn schedule(&self) -> Result<()> {
            let next = self
                .sql()
                .exec("SELECT MIN(expires_at) AS at FROM holds", None)?
                .to_array::<Next>()?;
            let storage = self.state.storage();
            match next.into_iter().next().and_then(|n| n.at) {
                Some(at) => {
                    let when = worker::js_sys::Date::new(&at.into());
                    storage.set_alarm(worker::ScheduledTime::new(when)).await
                }
                None => storage.delete_alarm().await,
            }
        }

        /// Answers one call. Every statement of a call runs without an await between them:
        /// no other call interleaves, and the runtime commits them together.
        fn answer(&self, call: &ShardCall) -> Result<(ShardState, bool)> {
            match call {
                ShardCall::Take {
                    sku,
                    generation,
                    init,
                    id,
                    want,
                    expires_at_ms,
                } => {
                    self.ensure(sku, *generation, init)?;
                    let taken = self.take(id, want, *expires_at_ms)?;
                    Ok((self.state_with(taken)?, true))
                }
                ShardCall::Release { id } => {
                    self.release(id)?;
                    Ok((self.state_with(Units::new())?, true))
                }
                ShardCall::Settle { id } => {
                    self.settle(id)?;
                    Ok((self.state_with(Units::new())?, true))
                }
                ShardCall::State {
                    sku,
                    generation,
                    init,
                } => {
                    self.ensure(sku, *generation, init)?;
                    Ok((self.state_with(Units::new())?, false))
                }
                ShardCall::Holds {
                    sku,
                    generation,
                    init,
                } => {
                    self.ensure(sku, *generation, init)?;
                    let mut state = self.state_with(Units::new())?;
                    for h in self
                        .sql()
                        .exec("SELECT id, location, quantity AS n FROM holds", None)?
                        .to_array::<HoldRow>()?
                    {
                        state.holds.entry(h.id).or_default().insert(h.location, h.n);
                    }
                    Ok((state, false))
                }
            }
        }
    }

    impl DurableObject for HotStock {
        fn new(state: State, env: Env) -> Self {
            let sql = state.storage().sql();
            for ddl in [
                "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS stock (location TEXT PRIMARY KEY, available INTEGER NOT NULL CHECK (available >= 0))",
                "CREATE TABLE IF NOT EXISTS holds (id TEXT NOT NULL, location TEXT NOT NULL, \
                   quantity INTEGER NOT NULL CHECK (quantity > 0), expires_at INTEGER NOT NULL, PRIMARY KEY (id, location))",
                "CREATE INDEX IF NOT EXISTS holds_by_expiry ON holds (expires_at)",
            ] {
                if let Err(e) = sql.exec(ddl, None) {
                    worker::console_error!("hot stock: creating its tables failed: {e}");
                }
            }
            HotStock { state, env }
        }

        async fn fetch(&self, mut req: Request) -> Result<Response> {
            let call: ShardCall = match req.json().await {
                Ok(c) => c,
                Err(e) => return Response::error(format!("not a shard call: {e}"), 400),
            };
            let (state, reschedule) = self.answer(&call)?;
            // The call's writes stand whatever happens here: a failed alarm is logged, not
            // answered as the call's failure (the next call schedules again).
            if reschedule {
                if let Err(e) = self.schedule().await {
                    worker::console_error!("hot stock: scheduling its alarm failed: {e}");
                }
            }
            Response::from_json(&state)
        }

        /// Reservations past their expiry: settled if an order holds them (its `hot_holds` row
        /// in D1), released otherwise.
        async fn alarm(&self) -> Result<Response> {
            let now = worker::Date::now().as_millis() as i64;
            let expired = self
                .sql()
                .exec(
                    "SELECT DISTINCT id FROM holds WHERE expires_at <= ?",
                    vec![now.into()],
                )?
                .to_array::<Id>()?;
            if !expired.is_empty() {
                let ids: Vec<&str> = expired.iter().map(|i| i.id.as_str()).collect();
                let list = serde_json::to_string(&ids)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                let held: Vec<Id> = self
                    .env
                    .d1("DB")?
                    .prepare("SELECT reservation AS id FROM hot_holds WHERE reservation IN (SELECT value FROM json_each(?1))")
                    .bind(&[list.into()])?
                    .all()
                    .await?
                    .results()?;
                // After the await: each id is settled or released as its rows stand now (a
                // release that came meanwhile left none).
                for id in &ids {
                    if held.iter().any(|h| h.id == *id) {
                        self.settle(id)?;
                    } else {
                        self.release(id)?;
                    }
                }
            }
            self.schedule().await?;
            Response::ok("")
        }
    }
}

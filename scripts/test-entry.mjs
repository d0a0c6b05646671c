// The entry module of the *test* build of each Worker: the e2e harness loads it (with
// `faults: true`) instead of entry.mjs; deployments never do (wrangler bundles from entry.mjs,
// which does not import this file). It adds these seams, each only when COMPTOIR_TEST_HOOKS=1:
// - a request carrying `X-Test-D1-Fault: N` sees its Nth D1 round trip fail (`N+`: that one
//   and every later one, as when D1 goes away mid-request and stays away);
// - `COMPTOIR_TEST_FAULTS="d1=20,queue=5,seed=7"` makes, in every invocation (requests, queue
//   batches, cron ticks), one D1 round trip in 20 and one queue send in 5 fail at random
//   (seeded), and logs each injected failure as `[fault] …` so a test can count them.
// - `COMPTOIR_TEST_METRICS=log` gives the Worker a `METRICS` binding (Analytics Engine) that
//   prints each data point as `[metrics] {json}`, so that a test can read what was written
//   (Miniflare's own Analytics Engine simulator keeps nothing);
// - `POST /__test/sql {sql, params}` answers the rows of a read, straight from D1 (no fault), so
//   that a test under heavy load reads its database over HTTP instead of Miniflare's
//   synchronous D1 proxy, which now and then loses a message (its `message?.id === id`
//   assertion) and then fails every later call.
// A round trip is a batch or a statement's first/all/run/raw, counted the way the Worker's
// Server-Timing counts them. A failure is a thrown error, as the bindings throw when D1 or the
// queue cannot be reached; nothing of a failed round trip or send is applied.
import Entry from "./entry.mjs";

class FaultPlan {
  constructor(spec) {
    const m = /^(\d+)(\+?)$/.exec(spec.trim());
    if (!m) throw new Error(`bad X-Test-D1-Fault: ${spec}`);
    this.at = Number(m[1]);
    this.onward = m[2] === "+";
    this.trips = 0;
  }
  trip() {
    this.trips += 1;
    if (this.trips === this.at || (this.onward && this.trips > this.at)) {
      throw new Error(`D1_ERROR: Network connection lost. (injected fault at round trip ${this.trips})`);
    }
  }
}

/** Random failures: one in `every` (0: never), from a seeded generator (mulberry32). */
class RandomFaults {
  constructor(spec) {
    const parts = Object.fromEntries(spec.split(",").map((p) => p.trim().split("=")));
    this.d1 = Number(parts.d1 ?? 0);
    this.queue = Number(parts.queue ?? 0);
    this.state = Number(parts.seed ?? 1) >>> 0;
  }
  random() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  fails(every) {
    return every > 0 && this.random() < 1 / every;
  }
  /** The FaultPlan interface, for D1. */
  trip() {
    if (this.fails(this.d1)) {
      console.log("[fault] d1 round trip failed (injected)");
      throw new Error("D1_ERROR: Network connection lost. (injected random fault)");
    }
  }
  send() {
    if (this.fails(this.queue)) {
      console.log("[fault] queue send failed (injected)");
      throw new Error("Queue send failed (injected random fault)");
    }
  }
}

let randomFaults = null; // one generator per isolate, built from the first invocation's env

const printedDataset = {
  writeDataPoint(point) {
    console.log(`[metrics] ${JSON.stringify(point)}`);
  },
};

// Named as the runtime's class: workers-rs checks the binding's constructor name.
class WorkerQueue {
  constructor(queue, faults) {
    this.queue = queue;
    this.faults = faults;
  }
  async send(body, options) {
    this.faults.send();
    return this.queue.send(body, options);
  }
  async sendBatch(messages, options) {
    this.faults.send();
    return this.queue.sendBatch(messages, options);
  }
}

const real = new WeakMap();

class D1PreparedStatement {
  constructor(statement, plan) {
    this.statement = statement;
    this.plan = plan;
    real.set(this, statement);
  }
  bind(...values) {
    return new D1PreparedStatement(this.statement.bind(...values), this.plan);
  }
  async first(column) {
    this.plan.trip();
    return this.statement.first(column);
  }
  async all() {
    this.plan.trip();
    return this.statement.all();
  }
  async run() {
    this.plan.trip();
    return this.statement.run();
  }
  async raw(options) {
    this.plan.trip();
    return this.statement.raw(options);
  }
}

/** A D1 session (what every request queries through) whose round trips the plan may fail. */
class D1DatabaseSession {
  constructor(session, plan) {
    this.session = session;
    this.plan = plan;
  }
  prepare(sql) {
    return new D1PreparedStatement(this.session.prepare(sql), this.plan);
  }
  async batch(statements) {
    this.plan.trip();
    return this.session.batch(statements.map((s) => real.get(s) ?? s));
  }
  getBookmark() {
    return this.session.getBookmark();
  }
}

// Named as the runtime's class: workers-rs checks the binding's constructor name.
class D1Database {
  constructor(db, plan) {
    this.db = db;
    this.plan = plan;
  }
  prepare(sql) {
    return new D1PreparedStatement(this.db.prepare(sql), this.plan);
  }
  withSession(constraintOrBookmark) {
    return new D1DatabaseSession(this.db.withSession(constraintOrBookmark), this.plan);
  }
  async batch(statements) {
    this.plan.trip();
    return this.db.batch(statements.map((s) => real.get(s) ?? s));
  }
  async exec(sql) {
    this.plan.trip();
    return this.db.exec(sql);
  }
}

export default class extends Entry {
  /** Swaps in failing (or printing) bindings for this invocation, as the seams above say. */
  faulty(spec) {
    if (this.env.COMPTOIR_TEST_HOOKS !== "1") return;
    let env = this.env;
    if (spec) {
      env = { ...env, DB: new D1Database(env.DB, new FaultPlan(spec)) };
    } else if (env.COMPTOIR_TEST_FAULTS) {
      randomFaults ??= new RandomFaults(env.COMPTOIR_TEST_FAULTS);
      env = { ...env, DB: new D1Database(env.DB, randomFaults) };
      if (env.ORDER_EVENTS) env.ORDER_EVENTS = new WorkerQueue(env.ORDER_EVENTS, randomFaults);
    }
    if (env.COMPTOIR_TEST_METRICS === "log") env = { ...env, METRICS: printedDataset };
    if (env !== this.env) Object.defineProperty(this, "env", { value: env, configurable: true, writable: true });
  }
  async fetch(request) {
    if (this.env.COMPTOIR_TEST_HOOKS === "1" && request.method === "POST" && new URL(request.url).pathname === "/__test/sql") {
      const { sql, params = [] } = await request.json();
      const { results } = await this.env.DB.prepare(sql).bind(...params).all();
      return Response.json(results);
    }
    this.faulty(request.headers.get("X-Test-D1-Fault"));
    return super.fetch(request);
  }
  async queue(batch) {
    this.faulty(null);
    return super.queue(batch);
  }
  async scheduled(event) {
    this.faulty(null);
    return super.scheduled(event);
  }
}

//! Channel lookups by publishable key through a cache that a concurrent change (a key rotation,
//! a change of markets) must not poison: `app::channels::channel_by_digest` over fakes, with the
//! change landing between the lookup's read and its fill of the cache.

use comptoir::app::channels::{channel_by_digest, KeyCache, KeyDirectory};
use comptoir::app::ports::StoreError;
use comptoir::domain::channel::Channel;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

mod support;
use support::block_on;

fn channel(name: &str) -> Channel {
    Channel {
        id: "web".into(),
        name: name.into(),
        markets: vec![],
        allowed_origins: vec![],
    }
}

type Change = Box<dyn FnOnce(&Directory)>;

/// Channels by key digest, with a version; `meanwhile` runs once, right after the next read
/// (a change committed while the lookup was between its read and its fill).
#[derive(Default)]
struct Directory {
    rows: RefCell<HashMap<String, (Channel, u32)>>,
    reads: Cell<u32>,
    meanwhile: RefCell<Option<Change>>,
}

impl KeyDirectory for Directory {
    async fn channel(&self, digest: &str) -> Result<Option<(Channel, String)>, StoreError> {
        self.reads.set(self.reads.get() + 1);
        let found = self
            .rows
            .borrow()
            .get(digest)
            .map(|(c, v)| (c.clone(), v.to_string()));
        if let Some(change) = self.meanwhile.borrow_mut().take() {
            change(self);
        }
        Ok(found)
    }

    async fn version(&self, digest: &str) -> Result<Option<String>, StoreError> {
        self.reads.set(self.reads.get() + 1);
        Ok(self.rows.borrow().get(digest).map(|(_, v)| v.to_string()))
    }
}

#[derive(Default)]
struct Cache(RefCell<HashMap<String, Channel>>);

impl KeyCache for Cache {
    async fn get(&self, digest: &str) -> Option<Channel> {
        self.0.borrow().get(digest).cloned()
    }
    async fn put(&self, digest: &str, channel: &Channel) {
        self.0.borrow_mut().insert(digest.into(), channel.clone());
    }
    async fn forget(&self, digest: &str) {
        self.0.borrow_mut().remove(digest);
    }
}

/// What a key rotation does: the row moves to the new digest, the cached copy is dropped.
fn rotate(cache: Rc<Cache>) -> impl FnOnce(&Directory) {
    move |d: &Directory| {
        let row = d.rows.borrow_mut().remove("old").unwrap();
        d.rows.borrow_mut().insert("new".into(), (row.0, row.1 + 1));
        cache.0.borrow_mut().remove("old");
    }
}

fn directory() -> Directory {
    let d = Directory::default();
    d.rows
        .borrow_mut()
        .insert("old".into(), (channel("Web"), 1));
    d
}

#[test]
fn a_miss_reads_caches_and_checks_once_and_a_hit_reads_nothing() {
    let (d, cache) = (directory(), Rc::new(Cache::default()));
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "old")).unwrap(),
        Some(channel("Web"))
    );
    assert_eq!(d.reads.get(), 2, "the read and the check after the fill");
    assert!(cache.0.borrow().contains_key("old"));
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "old")).unwrap(),
        Some(channel("Web"))
    );
    assert_eq!(d.reads.get(), 2, "served from the cache");
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "nobody")).unwrap(),
        None
    );
}

#[test]
fn a_rotation_between_the_read_and_the_fill_leaves_no_copy_of_the_revoked_key() {
    let (d, cache) = (directory(), Rc::new(Cache::default()));
    *d.meanwhile.borrow_mut() = Some(Box::new(rotate(cache.clone())));
    let found = block_on(channel_by_digest(&d, &*cache, "old")).unwrap();
    assert_eq!(
        found, None,
        "the key is revoked by the time the lookup answers"
    );
    assert!(
        !cache.0.borrow().contains_key("old"),
        "no stale copy serves the old key"
    );
    // Later lookups of the old key read the store and find nothing.
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "old")).unwrap(),
        None
    );
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "new")).unwrap(),
        Some(channel("Web"))
    );
}

#[test]
fn a_change_between_the_read_and_the_fill_is_not_cached_over() {
    let (d, cache) = (directory(), Rc::new(Cache::default()));
    let renamed = |d: &Directory| {
        d.rows
            .borrow_mut()
            .insert("old".into(), (channel("Web (EU)"), 2));
    };
    *d.meanwhile.borrow_mut() = Some(Box::new(renamed));
    let found = block_on(channel_by_digest(&d, &*cache, "old")).unwrap();
    assert_eq!(found, Some(channel("Web (EU)")), "what holds now");
    assert!(!cache.0.borrow().contains_key("old"));
    assert_eq!(
        block_on(channel_by_digest(&d, &*cache, "old")).unwrap(),
        Some(channel("Web (EU)"))
    );
    assert_eq!(
        cache.0.borrow().get("old"),
        Some(&channel("Web (EU)")),
        "the next lookup caches the current copy"
    );
}

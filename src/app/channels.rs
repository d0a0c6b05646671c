//! Finding a sales channel by its publishable key, through a cache (the isolate's memo and KV)
//! that a concurrent change must not poison. Cache-aside alone has a race: a lookup reads the
//! channel, a key rotation (or a change of its markets) commits and drops the cached copy, and
//! then the lookup writes the old copy back, where it would serve a revoked key for the cache's
//! lifetime. So a lookup that filled the cache checks, after the fill, that what it read is
//! still current, and drops its copy when it is not: whichever runs last, the change's removal
//! or the lookup's check, no stale copy survives.

use crate::app::ports::StoreError;
use crate::domain::channel::Channel;

/// The channels as stored (D1).
#[allow(async_fn_in_trait)]
pub trait KeyDirectory {
    /// The channel holding this key digest, with its version: a value that changes whenever
    /// the channel or one of its markets changes.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn channel(&self, digest: &str) -> Result<Option<(Channel, String)>, StoreError>;

    /// The version of the channel holding this digest now (`None`: no channel holds it).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    async fn version(&self, digest: &str) -> Result<Option<String>, StoreError>;
}

/// The copies of channels kept for fast lookups. A cache failing is a miss, never an error.
#[allow(async_fn_in_trait)]
pub trait KeyCache {
    async fn get(&self, digest: &str) -> Option<Channel>;
    async fn put(&self, digest: &str, channel: &Channel);
    async fn forget(&self, digest: &str);
}

/// The channel whose publishable key has this digest, or `None`. A cached copy is used as is;
/// on a miss the channel is read, cached, and checked again (one more read, on misses only).
///
/// # Errors
/// [`StoreError`] when the store fails.
pub async fn channel_by_digest(
    directory: &impl KeyDirectory,
    cache: &impl KeyCache,
    digest: &str,
) -> Result<Option<Channel>, StoreError> {
    if let Some(channel) = cache.get(digest).await {
        return Ok(Some(channel));
    }
    let Some((channel, version)) = directory.channel(digest).await? else {
        return Ok(None);
    };
    cache.put(digest, &channel).await;
    if directory.version(digest).await?.as_ref() == Some(&version) {
        return Ok(Some(channel));
    }
    // Changed while we cached it: drop the copy, and answer with what holds now (uncached).
    cache.forget(digest).await;
    Ok(directory.channel(digest).await?.map(|(channel, _)| channel))
}

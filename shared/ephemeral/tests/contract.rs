//! The short-lived store and config bus contract, run against every implementation
//!. The Redis runs need a Redis at `TESSERA_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`); they fail, never skip, when it is missing.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "contract helpers state their expectations with unwrap/expect"
)]

use std::sync::Arc;
use std::time::Duration;

use tessera_domain::{Random as _, SystemRandom};
use tessera_ephemeral::{
    ConfigBus, ConfigEvent, Key, Kind, MemoryBus, MemoryStore, RedisBus, RedisStore, ShortLived,
};

fn redis_url() -> String {
    std::env::var("TESSERA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A tenant name no other test run uses, so runs sharing one Redis never collide.
fn tenant() -> String {
    let mut b = [0u8; 8];
    SystemRandom.fill(&mut b);
    format!(
        "contract-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

async fn memory() -> Arc<dyn ShortLived> {
    Arc::new(MemoryStore::new())
}

async fn redis() -> Arc<dyn ShortLived> {
    Arc::new(
        RedisStore::connect(&redis_url())
            .await
            .expect("Redis must be running for the contract tests"),
    )
}

async fn a_consumed_code_cannot_be_read_again(store: Arc<dyn ShortLived>) {
    let key = Key::tenant(&tenant(), Kind::AuthorizationCode, "code-1");
    store
        .put(&key, b"grant", Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(
        store.take(&key).await.unwrap().as_deref(),
        Some(&b"grant"[..])
    );
    assert_eq!(
        store.take(&key).await.unwrap(),
        None,
        "a second take must find nothing"
    );
    assert_eq!(store.get(&key).await.unwrap(), None);
}

async fn concurrent_takes_yield_exactly_one_winner(store: Arc<dyn ShortLived>) {
    let key = Key::tenant(&tenant(), Kind::AuthorizationCode, "race");
    store
        .put(&key, b"once", Duration::from_secs(60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (s, k) = (store.clone(), key.clone());
            tokio::spawn(async move { s.take(&k).await.unwrap().is_some() })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}

async fn entries_expire_after_their_ttl(store: Arc<dyn ShortLived>) {
    let key = Key::tenant(&tenant(), Kind::RevokedToken, "jti-1");
    store
        .put(&key, b"1", Duration::from_millis(150))
        .await
        .unwrap();
    assert!(store.get(&key).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.get(&key).await.unwrap(), None);
}

async fn put_if_absent_detects_replays(store: Arc<dyn ShortLived>) {
    let key = Key::tenant(&tenant(), Kind::AssertionJti, "jti-x");
    assert!(
        store
            .put_if_absent(&key, b"1", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_if_absent(&key, b"2", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(&key).await.unwrap().as_deref(),
        Some(&b"1"[..]),
        "the first value stays"
    );
    assert!(store.delete(&key).await.unwrap());
    assert!(!store.delete(&key).await.unwrap());
}

async fn counters_count_within_their_window(store: Arc<dyn ShortLived>) {
    let key = Key::tenant(&tenant(), Kind::RateLimit, "token");
    for expected in 1..=5 {
        assert_eq!(
            store
                .hit(&key, Duration::from_millis(300))
                .await
                .unwrap()
                .count,
            expected
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        store
            .hit(&key, Duration::from_millis(300))
            .await
            .unwrap()
            .count,
        1,
        "a new window starts at 1"
    );
    let key = Key::tenant(&tenant(), Kind::RateLimit, "authorize");
    let first = store.hit(&key, Duration::from_secs(60)).await.unwrap();
    let second = store.hit(&key, Duration::from_secs(60)).await.unwrap();
    assert_eq!((first.count, second.count), (1, 2));
    assert!(
        second.resets_in <= first.resets_in && second.resets_in > Duration::from_secs(58),
        "the window is not restarted by later hits: {first:?} {second:?}"
    );
}

async fn leases_have_one_holder_and_growing_fences(store: Arc<dyn ShortLived>) {
    let key = Key::global(Kind::Lease, &tenant());
    let ttl = Duration::from_millis(300);
    let f1 = store
        .acquire_lease(&key, "a", ttl)
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!(
        store.acquire_lease(&key, "b", ttl).await.unwrap(),
        None,
        "b must wait"
    );
    assert_eq!(
        store.acquire_lease(&key, "a", ttl).await.unwrap(),
        Some(f1),
        "re-acquiring keeps the fence"
    );
    assert!(store.renew_lease(&key, "a", ttl).await.unwrap());
    assert!(!store.renew_lease(&key, "b", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let f2 = store
        .acquire_lease(&key, "b", ttl)
        .await
        .unwrap()
        .expect("expired lease is free");
    assert!(f2 > f1, "a new holder gets a larger fencing token");
    assert!(
        !store.renew_lease(&key, "a", ttl).await.unwrap(),
        "a lost it"
    );
    assert!(!store.release_lease(&key, "a").await.unwrap());
    assert!(store.release_lease(&key, "b").await.unwrap());
    assert!(store.acquire_lease(&key, "a", ttl).await.unwrap().is_some());
}

async fn tenants_never_see_each_others_keys(store: Arc<dyn ShortLived>) {
    let (a, b) = (tenant(), tenant());
    store
        .put(
            &Key::tenant(&a, Kind::Session, "s"),
            b"alice",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&Key::tenant(&b, Kind::Session, "s"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(&Key::tenant(&a, Kind::AuthorizationCode, "s"))
            .await
            .ok()
            .flatten(),
        None
    );
}

async fn several_keys_are_read_in_one_call_in_order(store: Arc<dyn ShortLived>) {
    let t = tenant();
    let keys: Vec<Key> = ["a", "missing", "b"]
        .iter()
        .map(|id| Key::tenant(&t, Kind::RevokedToken, id))
        .collect();
    for (k, v) in [(&keys[0], b"1"), (&keys[2], b"2")] {
        store.put(k, v, Duration::from_secs(60)).await.unwrap();
    }
    assert_eq!(
        store.get_many(&keys).await.unwrap(),
        vec![Some(b"1".to_vec()), None, Some(b"2".to_vec())]
    );
    assert_eq!(
        store.get_many(&[]).await.unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory_backend {
            use super::*;
            $( #[tokio::test] async fn $name() { super::$name(memory().await).await } )*
        }
        mod redis_backend {
            use super::*;
            $( #[tokio::test] async fn $name() { super::$name(redis().await).await } )*
        }
    };
}

contract!(
    a_consumed_code_cannot_be_read_again,
    concurrent_takes_yield_exactly_one_winner,
    entries_expire_after_their_ttl,
    put_if_absent_detects_replays,
    counters_count_within_their_window,
    leases_have_one_holder_and_growing_fences,
    tenants_never_see_each_others_keys,
    several_keys_are_read_in_one_call_in_order,
);

async fn a_published_change_reaches_every_subscriber(a: Arc<dyn ConfigBus>, b: Arc<dyn ConfigBus>) {
    let mut rx_a = a.subscribe();
    let mut rx_b = b.subscribe();
    let event = ConfigEvent {
        tenant: tenant(),
        what: "scope".into(),
        id: "scp1".into(),
        version: 7,
        published_ms: 0,
        reload: tessera_ephemeral::Reload::Server("aus1".into()),
        origin: "replica-a".into(),
    };
    a.publish(&event).await.unwrap();
    for rx in [&mut rx_a, &mut rx_b] {
        let got = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let e = rx.recv().await.unwrap();
                if e.tenant == event.tenant {
                    return e;
                }
            }
        })
        .await
        .expect("the event arrives within 2 s");
        assert_eq!(got, event);
    }
}

#[tokio::test]
async fn memory_bus_delivers_to_every_subscriber() {
    let bus: Arc<dyn ConfigBus> = Arc::new(MemoryBus::new());
    a_published_change_reaches_every_subscriber(bus.clone(), bus).await;
}

#[tokio::test]
async fn redis_bus_delivers_across_replicas() {
    async fn replica() -> Arc<dyn ConfigBus> {
        let store = RedisStore::connect(&redis_url()).await.unwrap();
        Arc::new(RedisBus::connect(&redis_url(), store).await.unwrap())
    }
    let (one, two) = (replica().await, replica().await);
    a_published_change_reaches_every_subscriber(one, two).await;
}

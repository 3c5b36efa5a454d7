//! Clinic profiles kept for a minute in the function instance: every dashboard request needs
//! its clinic (window, time zone), an unlock page its name, an inbound SMS the clinic its
//! number belongs to; a cached profile keeps a search to one Query and a reply's AWS calls
//! to those that depend on the SMS.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use jiff::{SignedDuration, Timestamp};

use crate::{
    error::{DependencyError, DomainError},
    ids::ClinicId,
    model::Clinic,
    phone::PhoneNumber,
    ports::{ClinicStore, Clock},
};

pub const CLINIC_CACHE_TTL: SignedDuration = SignedDuration::from_secs(60);

pub struct ClinicCache {
    store: Arc<dyn ClinicStore>,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<ClinicId, (Clinic, Timestamp)>>,
    /// Clinics by the number they text from, for inbound SMS.
    by_number: Mutex<HashMap<String, (Clinic, Timestamp)>>,
}

impl ClinicCache {
    pub fn new(store: Arc<dyn ClinicStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            entries: Mutex::new(HashMap::new()),
            by_number: Mutex::new(HashMap::new()),
        }
    }

    /// The signed-in clinic; a clinic without a profile cannot use the dashboard.
    pub async fn get(&self, id: &ClinicId) -> Result<Clinic, DomainError> {
        self.find(id).await?.ok_or(DomainError::NotFound {
            what: "your clinic's profile",
        })
    }

    /// The clinic that texts from `number`, `None` when none does (not cached: a clinic
    /// onboarded with it is found at once).
    pub async fn find_by_sms_number(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Clinic>, DependencyError> {
        let key = number.as_e164().to_owned();
        self.cached(
            &self.by_number,
            key,
            self.store.find_clinic_by_sms_number(number),
        )
        .await
    }

    /// The clinic's profile, `None` when it has none (a clinic without one is not cached).
    pub async fn find(&self, id: &ClinicId) -> Result<Option<Clinic>, DependencyError> {
        self.cached(&self.entries, id.clone(), self.store.get_clinic(id))
            .await
    }

    /// The clinic under `key` in `entries` if read less than [`CLINIC_CACHE_TTL`] ago, else
    /// what `read` finds, kept when it is a clinic.
    async fn cached<K: Eq + Hash>(
        &self,
        entries: &Mutex<HashMap<K, (Clinic, Timestamp)>>,
        key: K,
        read: impl Future<Output = Result<Option<Clinic>, DependencyError>>,
    ) -> Result<Option<Clinic>, DependencyError> {
        let now = self.clock.now();
        if let Some((clinic, fetched)) = entries.lock().expect("cache lock").get(&key)
            && now.duration_since(*fetched) < CLINIC_CACHE_TTL
        {
            return Ok(Some(clinic.clone()));
        }
        let Some(clinic) = read.await? else {
            return Ok(None);
        };
        entries
            .lock()
            .expect("cache lock")
            .insert(key, (clinic.clone(), now));
        Ok(Some(clinic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FixedClock, MemoryStore, records};

    fn clinic(name: &str) -> Clinic {
        Clinic {
            name: name.into(),
            ..records::clinic()
        }
    }

    #[tokio::test]
    async fn profiles_are_reread_after_a_minute() {
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z".parse().unwrap()));
        let cache = ClinicCache::new(store.clone(), clock.clone());
        store.put_clinic(&clinic("Old name")).await.unwrap();
        let id = ClinicId::parse("c1").unwrap();
        assert_eq!(cache.get(&id).await.unwrap().name, "Old name");
        store.put_clinic(&clinic("New name")).await.unwrap();
        clock.advance(SignedDuration::from_secs(59));
        assert_eq!(cache.get(&id).await.unwrap().name, "Old name");
        clock.advance(SignedDuration::from_secs(1));
        assert_eq!(cache.get(&id).await.unwrap().name, "New name");
    }

    #[tokio::test]
    async fn clinics_by_number_are_reread_after_a_minute_and_an_unknown_number_is_not_kept() {
        let store = Arc::new(MemoryStore::default());
        let clock = Arc::new(FixedClock::at("2026-01-01T00:00:00Z".parse().unwrap()));
        let cache = ClinicCache::new(store.clone(), clock.clone());
        let number = records::clinic().sms_number;
        assert_eq!(cache.find_by_sms_number(&number).await.unwrap(), None);
        store.put_clinic(&clinic("Old name")).await.unwrap();
        let found = cache.find_by_sms_number(&number).await.unwrap().unwrap();
        assert_eq!(found.name, "Old name");
        store.put_clinic(&clinic("New name")).await.unwrap();
        clock.advance(SignedDuration::from_secs(59));
        let found = cache.find_by_sms_number(&number).await.unwrap().unwrap();
        assert_eq!(found.name, "Old name");
        clock.advance(SignedDuration::from_secs(1));
        let found = cache.find_by_sms_number(&number).await.unwrap().unwrap();
        assert_eq!(found.name, "New name");
    }

    #[tokio::test]
    async fn a_clinic_without_a_profile_is_not_found() {
        let cache = ClinicCache::new(
            Arc::new(MemoryStore::default()),
            Arc::new(FixedClock::at(Timestamp::UNIX_EPOCH)),
        );
        let missing = cache.get(&ClinicId::parse("nope").unwrap()).await;
        assert!(matches!(missing, Err(DomainError::NotFound { .. })));
    }
}

//! Clinic profiles kept for a minute in the function instance: every dashboard request needs
//! its clinic (window, time zone), and a cached profile keeps a search to one Query.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use jiff::{SignedDuration, Timestamp};

use crate::{
    error::DomainError,
    ids::ClinicId,
    model::Clinic,
    ports::{ClinicStore, Clock},
};

pub const CLINIC_CACHE_TTL: SignedDuration = SignedDuration::from_secs(60);

pub struct ClinicCache {
    store: Arc<dyn ClinicStore>,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<ClinicId, (Clinic, Timestamp)>>,
}

impl ClinicCache {
    pub fn new(store: Arc<dyn ClinicStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The signed-in clinic; a clinic without a profile cannot use the dashboard.
    pub async fn get(&self, id: &ClinicId) -> Result<Clinic, DomainError> {
        let now = self.clock.now();
        if let Some((clinic, fetched)) = self.entries.lock().expect("cache lock").get(id)
            && now.duration_since(*fetched) < CLINIC_CACHE_TTL
        {
            return Ok(clinic.clone());
        }
        let clinic = self
            .store
            .get_clinic(id)
            .await?
            .ok_or(DomainError::NotFound {
                what: "your clinic's profile",
            })?;
        self.entries
            .lock()
            .expect("cache lock")
            .insert(id.clone(), (clinic.clone(), now));
        Ok(clinic)
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
    async fn a_clinic_without_a_profile_is_not_found() {
        let cache = ClinicCache::new(
            Arc::new(MemoryStore::default()),
            Arc::new(FixedClock::at(Timestamp::UNIX_EPOCH)),
        );
        let missing = cache.get(&ClinicId::parse("nope").unwrap()).await;
        assert!(matches!(missing, Err(DomainError::NotFound { .. })));
    }
}

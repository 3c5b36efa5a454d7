//! An SMS sender that keeps what it was asked to send, and can be told to fail.

use std::{
    collections::HashSet,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;

use crate::{
    error::DependencyError,
    phone::PhoneNumber,
    ports::{OutboundSms, SmsReceipt, SmsSender},
};

#[derive(Debug, Default)]
pub struct RecordingSmsSender {
    sent: Mutex<Vec<OutboundSms>>,
    opted_out: Mutex<HashSet<String>>,
    failing: AtomicBool,
}

impl RecordingSmsSender {
    pub fn sent(&self) -> Vec<OutboundSms> {
        self.sent.lock().expect("sms lock").clone()
    }

    pub fn opt_out(&self, number: &PhoneNumber) {
        self.opted_out
            .lock()
            .expect("sms lock")
            .insert(number.as_e164().to_owned());
    }

    /// The number may be texted again, as after START.
    pub fn opt_in(&self, number: &PhoneNumber) {
        self.opted_out
            .lock()
            .expect("sms lock")
            .remove(number.as_e164());
    }

    /// While set, every send fails as SNS would when throttled.
    pub fn fail_sends(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait]
impl SmsSender for RecordingSmsSender {
    async fn send(&self, sms: &OutboundSms) -> Result<SmsReceipt, DependencyError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(DependencyError::new("sns", "Publish", "Throttling"));
        }
        let mut sent = self.sent.lock().expect("sms lock");
        sent.push(sms.clone());
        Ok(SmsReceipt {
            provider_message_id: format!("fake-{}", sent.len()),
        })
    }

    async fn is_opted_out(&self, number: &PhoneNumber) -> Result<bool, DependencyError> {
        Ok(self
            .opted_out
            .lock()
            .expect("sms lock")
            .contains(number.as_e164()))
    }
}

//! Times the AWS requests a process makes, for the bench: a wrapper around the SDK's HTTP
//! client that adds up how long at least one request was in flight, so that a route's own
//! overhead is its time less this, and counts the sequential round trips on its critical
//! path (requests that overlap in time count once).

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::{
    http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    },
    orchestrator::HttpRequest,
    result::ConnectorError,
    runtime_components::RuntimeComponents,
};
use aws_smithy_types::{body::SdkBody, byte_stream::ByteStream};

/// AWS time since the last `take`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwsTime {
    /// Wall time during which at least one request was in flight (requests made at the same
    /// time count once).
    pub busy: Duration,
    pub requests: usize,
    /// Sequential round trips: how often a request started while none was in flight.
    pub rounds: usize,
}

#[derive(Debug, Default)]
struct Tally {
    in_flight: usize,
    busy_since: Option<Instant>,
    done: AwsTime,
}

/// Shared by the wrapped SDK settings and the bench that reads them.
#[derive(Debug, Clone, Default)]
pub struct AwsCallTiming(Arc<Mutex<Tally>>);

impl AwsCallTiming {
    pub fn new() -> Self {
        Self::default()
    }

    /// The same SDK settings, with every request timed here, on the functions' own HTTPS
    /// client.
    pub fn wrap(&self, sdk: &SdkConfig) -> SdkConfig {
        let inner = aws::https_client();
        sdk.to_builder()
            .http_client(SharedHttpClient::new(TimedClient {
                inner,
                timing: self.clone(),
            }))
            .build()
    }

    /// AWS time since the last call, and starts counting afresh.
    pub fn take(&self) -> AwsTime {
        let mut tally = self.tally();
        let now = Instant::now();
        if let Some(since) = tally
            .busy_since
            .replace(now)
            .filter(|_| tally.in_flight > 0)
        {
            tally.done.busy += now - since;
        }
        std::mem::take(&mut tally.done)
    }

    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Times one request until the returned guard is dropped: for callers that are not
    /// the SDK (a proxy in front of the emulator).
    pub fn started(&self) -> InFlight {
        let mut tally = self.tally();
        if tally.in_flight == 0 {
            tally.busy_since = Some(Instant::now());
            tally.done.rounds += 1;
        }
        tally.in_flight += 1;
        tally.done.requests += 1;
        InFlight(self.clone())
    }
}

/// Ends a request's time when dropped, also when its future is cancelled.
pub struct InFlight(AwsCallTiming);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut tally = self.0.tally();
        tally.in_flight -= 1;
        if tally.in_flight == 0
            && let Some(since) = tally.busy_since.take()
        {
            tally.done.busy += since.elapsed();
        }
    }
}

#[derive(Debug)]
struct TimedClient {
    inner: SharedHttpClient,
    timing: AwsCallTiming,
}

impl HttpClient for TimedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(TimedConnector {
            inner: self.inner.http_connector(settings, components),
            timing: self.timing.clone(),
        })
    }
}

#[derive(Debug)]
struct TimedConnector {
    inner: SharedHttpConnector,
    timing: AwsCallTiming,
}

impl HttpConnector for TimedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let timing = self.timing.clone();
        HttpConnectorFuture::new(async move {
            let in_flight = timing.started();
            let mut response = inner.call(request).await?;
            // The connector answers once the headers are in; the round trip ends with the
            // body, so it is read here (the SDK would read it next anyway).
            let body = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|error| ConnectorError::io(error.into()))?;
            *response.body_mut() = SdkBody::from(body.into_bytes());
            drop(in_flight);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_requests_count_once_and_take_starts_afresh() {
        let timing = AwsCallTiming::new();
        let outer = Instant::now();
        let first = timing.started();
        let second = timing.started();
        std::thread::sleep(Duration::from_millis(20));
        drop(first);
        drop(second);
        let span = outer.elapsed();
        let taken = timing.take();
        assert_eq!(taken.requests, 2);
        assert_eq!(taken.rounds, 1);
        assert!(taken.busy >= Duration::from_millis(20), "{taken:?}");
        // Both were in flight over the same 20 ms: adding them up would exceed the span.
        assert!(taken.busy <= span, "{taken:?} in {span:?}");
        assert_eq!(timing.take(), AwsTime::default());
    }

    #[test]
    fn a_request_after_the_last_ended_is_another_round_trip() {
        let timing = AwsCallTiming::new();
        drop(timing.started());
        let outer = timing.started();
        let inner = timing.started();
        drop(outer);
        // Started while `inner` was in flight: the same round trip.
        drop(timing.started());
        drop(inner);
        drop(timing.started());
        let taken = timing.take();
        assert_eq!((taken.requests, taken.rounds), (5, 3));
    }

    #[test]
    fn a_request_still_in_flight_is_split_at_take() {
        let timing = AwsCallTiming::new();
        let open = timing.started();
        std::thread::sleep(Duration::from_millis(10));
        let mid = Instant::now();
        let before = timing.take();
        assert_eq!(before.requests, 1);
        assert!(before.busy >= Duration::from_millis(10), "{before:?}");
        drop(open);
        let after = timing.take();
        assert_eq!(after.requests, 0);
        assert!(after.busy <= mid.elapsed(), "{after:?}");
    }
}

//! Who is logged in, and who sent wrong tokens: the state behind the
//! admin token checks (the checks themselves are in `auth`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::AdminError;
use crate::network::Network;

/// How long a login lasts; then the browser is sent to the form again.
pub(super) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Logins kept at once; a new one beyond this ends the one closest to
/// expiring. Only holders of the token can make them.
const MAX_SESSIONS: usize = 32;

/// Wait after the first wrong token; it doubles with each further one
/// from the same network.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest wait: the longest an attacker sharing the operator's network
/// can keep the operator out once they stop.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A network's wrong tokens are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Networks remembered at once; when full, the one whose wait ends first
/// is forgotten (a table an attacker could fill is always bounded).
const MAX_NETWORKS: usize = 4096;

/// A login's id: 32 bytes from the operating system's CSPRNG.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct SessionId([u8; 32]);

impl SessionId {
    fn random() -> Result<SessionId, AdminError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| AdminError::Internal(format!("no random numbers for a login: {e}")))?;
        Ok(SessionId(bytes))
    }

    pub(super) fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(super) fn from_hex(text: &str) -> Option<SessionId> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(SessionId(bytes))
    }
}

/// The logins in force.
#[derive(Default)]
pub(super) struct LoginSessions {
    open: Mutex<Vec<(SessionId, Instant)>>,
}

impl LoginSessions {
    /// A new login, valid until `now` + [`SESSION_LIFETIME`].
    pub(super) fn open(&self, now: Instant) -> Result<SessionId, AdminError> {
        let id = SessionId::random()?;
        let mut open = self.lock();
        open.retain(|(_, expires)| *expires > now);
        if open.len() >= MAX_SESSIONS
            && let Some(soonest) = open
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(i, _)| i)
        {
            open.swap_remove(soonest);
        }
        open.push((id, now + SESSION_LIFETIME));
        Ok(id)
    }

    /// Whether `id` is a login in force at `now`. Every login is compared
    /// in full, so the time taken says nothing about how close `id` is.
    pub(super) fn is_open(&self, id: &SessionId, now: Instant) -> bool {
        let open = self.lock();
        open.iter().fold(false, |found, (known, expires)| {
            found | (same(&id.0, &known.0) & (*expires > now))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SessionId, Instant)>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What became of one attempt with the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attempt {
    /// The token was right.
    Accepted,
    /// The token was wrong: the network's `failures`-th lately; its next
    /// attempt is checked after `wait`.
    Wrong { failures: u32, wait: Duration },
    /// Not checked: the network must wait `wait` more after its last
    /// wrong token.
    TooSoon { wait: Duration },
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    checked_again_at: Instant,
}

/// Wrong tokens by network (an IPv4 address, or an IPv6 /64, as
/// connections are counted): after a wrong token, the network's next
/// attempt is only checked once a delay has passed, and every attempt
/// before that is refused unchecked. The check and the bookkeeping happen
/// under one lock, so attempts sent all at once are taken one at a time.
#[derive(Default)]
pub(super) struct FailedLogins {
    networks: Mutex<HashMap<Network, Failures>>,
}

impl FailedLogins {
    /// Checks a token from `peer` at `now` with `is_right`, unless its
    /// network must still wait.
    pub(super) fn attempt(
        &self,
        peer: IpAddr,
        now: Instant,
        is_right: impl FnOnce() -> bool,
    ) -> Attempt {
        let network = Network::of(peer);
        let mut networks = self
            .networks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = networks
            .get(&network)
            .copied()
            .filter(|f| now.duration_since(f.last) < FORGET_AFTER);
        if let Some(failures) = known
            && now < failures.checked_again_at
        {
            return Attempt::TooSoon {
                wait: failures.checked_again_at - now,
            };
        }
        if is_right() {
            networks.remove(&network);
            return Attempt::Accepted;
        }
        let count = known.map_or(0, |f| f.count).saturating_add(1);
        let wait = delay_after(count);
        if !networks.contains_key(&network) && networks.len() >= MAX_NETWORKS {
            networks.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if networks.len() >= MAX_NETWORKS
                && let Some(first_free) = networks
                    .iter()
                    .min_by_key(|(_, f)| f.checked_again_at)
                    .map(|(n, _)| *n)
            {
                networks.remove(&first_free);
            }
        }
        networks.insert(
            network,
            Failures {
                count,
                last: now,
                checked_again_at: now + wait,
            },
        );
        Attempt::Wrong {
            failures: count,
            wait,
        }
    }
}

/// 1 s after the first wrong token, doubling to at most [`MAX_DELAY`].
fn delay_after(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// Seconds to tell a client to wait, rounded up.
pub(super) fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Whether `presented` is `token`, in time that depends only on the
/// length of `presented`: neither how much of a guess was right nor the
/// token's length shows in the response time.
pub(super) fn same(presented: &[u8], token: &[u8]) -> bool {
    if token.is_empty() {
        return false;
    }
    let mut difference = u8::from(presented.len() != token.len());
    for (a, b) in presented.iter().zip(token.iter().cycle()) {
        difference |= a ^ b;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn comparison_needs_every_byte_and_the_length() {
        assert!(same(b"token", b"token"));
        assert!(!same(b"token", b"tokem"));
        assert!(!same(b"token", b"token2"));
        assert!(!same(b"tokentoken", b"token"), "a repeat is not the token");
        assert!(!same(b"", b"x"));
        assert!(!same(b"", b""), "no token matches nothing");
    }

    #[test]
    fn session_ids_are_random_and_read_back() {
        let a = SessionId::random().expect("random");
        let b = SessionId::random().expect("random");
        assert!(a != b);
        assert!(SessionId::from_hex(&a.to_hex()) == Some(a));
        for bad in ["", "zz", &"g".repeat(64), &"a".repeat(63), &"é".repeat(32)] {
            assert!(SessionId::from_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn login_sessions_expire() {
        let sessions = LoginSessions::default();
        let start = Instant::now();
        let id = sessions.open(start).expect("a login");
        assert!(sessions.is_open(&id, start + SESSION_LIFETIME - Duration::from_secs(1)));
        assert!(!sessions.is_open(&id, start + SESSION_LIFETIME));
        assert!(!sessions.is_open(&SessionId([0; 32]), start));
    }

    #[test]
    fn login_sessions_are_bounded() {
        let sessions = LoginSessions::default();
        let start = Instant::now();
        let first = sessions.open(start).expect("a login");
        for i in 1..=MAX_SESSIONS as u64 {
            sessions
                .open(start + Duration::from_secs(i))
                .expect("a login");
        }
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert!(!sessions.is_open(&first, start), "the oldest one went");
    }

    fn peer(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn eight_thousand_guesses_in_a_second_get_one_check() {
        let logins = FailedLogins::default();
        let start = Instant::now();
        let mut checked = 0;
        let mut too_soon = 0;
        for i in 0..8_000u32 {
            let at = start + Duration::from_micros(u64::from(i) * 125);
            match logins.attempt(peer("192.0.2.7"), at, || {
                checked += 1;
                false
            }) {
                Attempt::TooSoon { .. } => too_soon += 1,
                Attempt::Wrong { .. } => {}
                Attempt::Accepted => panic!("no guess is right"),
            }
        }
        assert_eq!(checked, 1, "one guess in the first second");
        assert_eq!(too_soon, 7_999);
    }

    #[test]
    fn waits_double_up_to_a_bound_and_a_right_token_clears_them() {
        let logins = FailedLogins::default();
        let client = peer("192.0.2.7");
        let mut at = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..9 {
            match logins.attempt(client, at, || false) {
                Attempt::Wrong { wait, .. } => {
                    waits.push(wait.as_secs());
                    at += wait;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        // The operator with the right token is let in once the wait is over.
        assert!(matches!(
            logins.attempt(client, at - Duration::from_millis(1), || true),
            Attempt::TooSoon { .. }
        ));
        assert_eq!(logins.attempt(client, at, || true), Attempt::Accepted);
        assert!(matches!(
            logins.attempt(client, at, || false),
            Attempt::Wrong { failures: 1, .. }
        ));
    }

    #[test]
    fn a_guesser_does_not_lock_out_other_networks() {
        let logins = FailedLogins::default();
        let start = Instant::now();
        assert!(matches!(
            logins.attempt(peer("2001:db8:1:2::1"), start, || false),
            Attempt::Wrong { .. }
        ));
        // The same /64 waits, whatever address in it the guesser takes.
        assert!(matches!(
            logins.attempt(peer("2001:db8:1:2::99"), start, || true),
            Attempt::TooSoon { .. }
        ));
        assert_eq!(
            logins.attempt(peer("2001:db8:1:3::1"), start, || true),
            Attempt::Accepted
        );
        assert_eq!(
            logins.attempt(peer("192.0.2.8"), start, || true),
            Attempt::Accepted
        );
        // Forgotten after a quiet spell.
        assert!(matches!(
            logins.attempt(peer("2001:db8:1:2::1"), start + FORGET_AFTER, || false),
            Attempt::Wrong { failures: 1, .. }
        ));
    }

    #[test]
    fn the_table_of_networks_is_bounded() {
        let logins = FailedLogins::default();
        let start = Instant::now();
        for i in 0..(MAX_NETWORKS as u32 + 100) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            logins.attempt(ip, start, || false);
        }
        let held = logins
            .networks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        assert_eq!(held, MAX_NETWORKS);
    }
}

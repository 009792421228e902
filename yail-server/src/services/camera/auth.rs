//! The camera's credentials: the user name and password of the `--camera`
//! URL (`http://user:password@camera/snapshot.jpg`), answered in whichever
//! scheme the camera asks for. Many IP cameras protect their snapshot and
//! MJPEG URLs with HTTP Digest (RFC 7616), others with Basic (RFC 7617).
//!
//! The credentials are taken out of the URL, so they never travel in it,
//! and nothing is sent before the camera asks: the first request goes
//! without them, and its 401 names the scheme (RFC 7235 §4.1,
//! `WWW-Authenticate`). Digest is preferred when offered, so the password
//! itself never crosses the network to a camera that accepts a digest of
//! it. The camera's last challenge is kept and answered on the next
//! request straight away, counting `nc` up (RFC 7616 §3.4: a client may
//! reuse a nonce with an increasing nonce count), so a polled snapshot
//! takes one request, not two; a 401 to that (an expired nonce, RFC 7616
//! §3.4 `stale`) is answered once with the new challenge.
//!
//! Neither the password nor a header carrying it is ever logged or shown:
//! this type has no `Debug`, and its errors name only the scheme.

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use url::Url;

use base64::Engine as _;

/// How the camera wants to be answered.
enum Scheme {
    /// RFC 7617: the user name and password, base64-encoded.
    Basic,
    /// RFC 7616: a digest of them, under the camera's last challenge.
    Digest(Box<WwwAuthenticateHeader>),
}

/// The camera's user name and password, and what it last asked for.
pub(super) struct Credentials {
    username: String,
    password: String,
    scheme: Option<Scheme>,
}

impl Credentials {
    /// Takes the user name and password out of `url`; `None` when it has
    /// none.
    pub(super) fn take_from(url: &mut Url) -> Option<Credentials> {
        if url.username().is_empty() && url.password().is_none() {
            return None;
        }
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = Credentials {
            username: decode(url.username()),
            password: decode(url.password().unwrap_or_default()),
            scheme: None,
        };
        // Only a URL that cannot have credentials refuses these, and it
        // had none to take.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Some(credentials)
    }

    /// The `Authorization` value for a GET of `url`, when the camera has
    /// already said how it wants to be answered.
    pub(super) fn authorization(&mut self, url: &Url) -> Option<HeaderValue> {
        let value = match self.scheme.as_mut()? {
            Scheme::Basic => {
                let pair = format!("{}:{}", self.username, self.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Scheme::Digest(challenge) => {
                // RFC 7616 §3.4: the digest-uri is the request-target, the
                // path and query as the request line has them.
                let uri = &url[url::Position::BeforePath..url::Position::AfterQuery];
                let context = AuthContext::new_with_method(
                    self.username.as_str(),
                    self.password.as_str(),
                    uri,
                    Option::<&[u8]>::None,
                    HttpMethod::GET,
                );
                challenge.respond(&context).ok()?.to_header_string()
            }
        };
        let mut value = HeaderValue::from_str(&value).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Learns from a 401's `WWW-Authenticate` headers how to answer;
    /// `false` when it names no scheme we speak (then a retry is useless).
    /// Of several challenges the first Digest one we can compute wins (RFC
    /// 7616 §3.7: a server lists the algorithms it prefers first), then
    /// Basic.
    pub(super) fn challenged(&mut self, headers: &HeaderMap) -> bool {
        let challenges: Vec<&str> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        let digest = challenges
            .iter()
            .filter(|c| scheme_is(c, "digest"))
            .find_map(|c| parse_digest(c));
        self.scheme = match digest {
            Some(challenge) => Some(Scheme::Digest(Box::new(challenge))),
            None if challenges.iter().any(|c| scheme_is(c, "basic")) => Some(Scheme::Basic),
            None => None,
        };
        self.scheme.is_some()
    }

    /// The scheme last answered, for the log.
    pub(super) fn scheme_name(&self) -> &'static str {
        match self.scheme {
            Some(Scheme::Basic) => "Basic",
            Some(Scheme::Digest(_)) => "Digest",
            None => "none",
        }
    }
}

/// Whether a challenge is of `scheme` (compared without case, RFC 7235
/// §2.1).
fn scheme_is(challenge: &str, scheme: &str) -> bool {
    challenge
        .trim_start()
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case(scheme))
}

/// A Digest challenge as digest_auth reads it (it expects the scheme word
/// spelt `Digest`).
fn parse_digest(challenge: &str) -> Option<WwwAuthenticateHeader> {
    let rest = challenge.trim_start().get("digest".len()..)?;
    digest_auth::parse(&format!("Digest {}", rest.trim_start())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(challenges: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for c in challenges {
            map.append(WWW_AUTHENTICATE, HeaderValue::from_str(c).unwrap());
        }
        map
    }

    #[test]
    fn credentials_leave_the_url() {
        let mut url = Url::parse("http://ad%40min:p%3Ass@cam.local:8080/snap?x=1").unwrap();
        let credentials = Credentials::take_from(&mut url).expect("credentials");
        assert_eq!(url.as_str(), "http://cam.local:8080/snap?x=1");
        assert_eq!(credentials.username, "ad@min");
        assert_eq!(credentials.password, "p:ss");
        let mut plain = Url::parse("http://cam.local/snap").unwrap();
        assert!(Credentials::take_from(&mut plain).is_none());
    }

    #[test]
    fn nothing_is_sent_before_the_camera_asks() {
        let mut url = Url::parse("http://u:p@cam.local/snap").unwrap();
        let mut credentials = Credentials::take_from(&mut url).unwrap();
        assert!(credentials.authorization(&url).is_none());
    }

    #[test]
    fn digest_is_preferred_and_counts_its_uses() {
        let mut url =
            Url::parse("http://Mufasa:Circle%20of%20Life@cam.local/dir/index.html").unwrap();
        let mut credentials = Credentials::take_from(&mut url).unwrap();
        // RFC 7616 §3.9.1's challenge, offered beside Basic.
        assert!(credentials.challenged(&headers(&[
            r#"Basic realm="cam""#,
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        ])));
        assert_eq!(credentials.scheme_name(), "Digest");
        let first = credentials.authorization(&url).unwrap();
        let first = first.to_str().unwrap();
        assert!(first.starts_with("Digest "), "{first}");
        assert!(first.contains(r#"uri="/dir/index.html""#), "{first}");
        assert!(first.contains("algorithm=SHA-256"), "{first}");
        assert!(first.contains("nc=00000001"), "{first}");
        assert!(
            !first.contains("Circle"),
            "the password itself is never sent"
        );
        let second = credentials.authorization(&url).unwrap();
        assert!(second.to_str().unwrap().contains("nc=00000002"));
        assert!(second.is_sensitive());
    }

    #[test]
    fn basic_alone_is_answered_with_basic_and_unknown_schemes_not_at_all() {
        let mut url = Url::parse("http://Aladdin:open%20sesame@cam.local/").unwrap();
        let mut credentials = Credentials::take_from(&mut url).unwrap();
        assert!(credentials.challenged(&headers(&[r#"basic realm="WallyWorld""#])));
        // RFC 7617 §2's example.
        assert_eq!(
            credentials.authorization(&url).unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert!(!credentials.challenged(&headers(&[r#"Bearer realm="x""#])));
        assert!(!credentials.challenged(&HeaderMap::new()));
        assert!(credentials.authorization(&url).is_none());
    }
}

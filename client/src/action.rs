//! A validation action: its id, start time S, and the identifiers that queries and
//! matching use (D8, D10).
//!
//! Pinned here:
//! - IPs are parsed and kept in canonical text form (`fe80:0::1` → `fe80::1`,
//!   `::ffff:10.0.0.1` → `10.0.0.1`), so `%IPS%` and matching agree on one spelling.
//!   A value that is not an IP address is refused ([`ActionError`]).
//! - [`Action::ips`] is the source IPs, then the destination IPs, deduplicated in
//!   first-seen order. IPs added later ([`Action::add_ips`], e.g. a NAT address learned
//!   when the destination actor reports, §4.6 of the research notes) are appended, so
//!   the order of the IPs already known never changes.
//! - Hostnames are trimmed and deduplicated exactly (queries keep their spelling; the
//!   D10 match compares them case-insensitively).
//! - Every change bumps a generation counter. The scheduler takes an [`Identifiers`]
//!   snapshot when it issues a window; windows already issued are never re-issued, later
//!   windows see the grown set (statement 18).

use std::net::IpAddr;

use time::OffsetDateTime;

/// Which side of the action an IP belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRole {
    /// The source actor (or an address it is seen as, e.g. behind NAT).
    Source,
    /// The destination actor.
    Destination,
}

/// An identifier the action refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Not an IPv4 or IPv6 address.
    #[error("action {action}: {value:?} is not an IP address")]
    InvalidIp {
        /// The action's id.
        action: String,
        /// The value as given.
        value: String,
    },
    /// An empty hostname.
    #[error("action {action}: empty hostname")]
    EmptyHostname {
        /// The action's id.
        action: String,
    },
}

/// Parses an IP address into its canonical form (IPv4-mapped IPv6 becomes IPv4).
pub fn canonical_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(t);
    t.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The identifiers of an action at one moment: what a window was issued with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifiers {
    /// Source then destination IPs (then later-added ones), deduplicated, canonical.
    pub ips: Vec<String>,
    /// Hostnames, deduplicated, first-seen order.
    pub hostnames: Vec<String>,
    /// The action's generation when this snapshot was taken.
    pub generation: u64,
}

/// A validation action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The action's id, as the platform names it.
    pub id: String,
    /// The action start S.
    pub start: OffsetDateTime,
    src_ips: Vec<String>,
    dest_ips: Vec<String>,
    ips: Vec<String>,
    hostnames: Vec<String>,
    generation: u64,
}

impl Action {
    /// An action with its initial identifiers. IPs must parse; hostnames must not be
    /// blank. Duplicates are dropped.
    pub fn new<S, D, H>(
        id: impl Into<String>,
        start: OffsetDateTime,
        src_ips: S,
        dest_ips: D,
        hostnames: H,
    ) -> Result<Action, ActionError>
    where
        S: IntoIterator,
        S::Item: AsRef<str>,
        D: IntoIterator,
        D::Item: AsRef<str>,
        H: IntoIterator,
        H::Item: AsRef<str>,
    {
        let mut action = Action {
            id: id.into(),
            start,
            src_ips: Vec::new(),
            dest_ips: Vec::new(),
            ips: Vec::new(),
            hostnames: Vec::new(),
            generation: 0,
        };
        action.add_ips(IpRole::Source, src_ips)?;
        action.add_ips(IpRole::Destination, dest_ips)?;
        action.add_hostnames(hostnames)?;
        action.generation = 0;
        Ok(action)
    }

    /// Adds IPs to one side. Returns the IPs that were new (canonical form). Nothing is
    /// added when any value is invalid.
    pub fn add_ips<I>(&mut self, role: IpRole, ips: I) -> Result<Vec<String>, ActionError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let parsed = ips
            .into_iter()
            .map(|v| {
                canonical_ip(v.as_ref())
                    .map(|ip| ip.to_string())
                    .ok_or_else(|| ActionError::InvalidIp {
                        action: self.id.clone(),
                        value: v.as_ref().to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut added = Vec::new();
        for ip in parsed {
            let side = match role {
                IpRole::Source => &mut self.src_ips,
                IpRole::Destination => &mut self.dest_ips,
            };
            if !side.contains(&ip) {
                side.push(ip.clone());
            }
            if !self.ips.contains(&ip) {
                self.ips.push(ip.clone());
                added.push(ip);
            }
        }
        if !added.is_empty() {
            self.generation += 1;
        }
        Ok(added)
    }

    /// Adds hostnames. Returns the ones that were new. Nothing is added when any value
    /// is blank.
    pub fn add_hostnames<I>(&mut self, hostnames: I) -> Result<Vec<String>, ActionError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let cleaned = hostnames
            .into_iter()
            .map(|h| {
                let h = h.as_ref().trim();
                if h.is_empty() {
                    Err(ActionError::EmptyHostname {
                        action: self.id.clone(),
                    })
                } else {
                    Ok(h.to_string())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut added = Vec::new();
        for h in cleaned {
            if !self.hostnames.contains(&h) {
                self.hostnames.push(h.clone());
                added.push(h);
            }
        }
        if !added.is_empty() {
            self.generation += 1;
        }
        Ok(added)
    }

    /// Source IPs, deduplicated, first-seen order.
    pub fn src_ips(&self) -> &[String] {
        &self.src_ips
    }

    /// Destination IPs, deduplicated, first-seen order.
    pub fn dest_ips(&self) -> &[String] {
        &self.dest_ips
    }

    /// Source then destination IPs (then later-added ones), deduplicated, first-seen
    /// order: the `%IPS%` list.
    pub fn ips(&self) -> &[String] {
        &self.ips
    }

    /// Hostnames, deduplicated, first-seen order: the `%HOSTNAMES%` list.
    pub fn hostnames(&self) -> &[String] {
        &self.hostnames
    }

    /// Bumped on every change to the identifiers; 0 right after [`Action::new`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The identifiers now, for a window about to be issued.
    pub fn identifiers(&self) -> Identifiers {
        Identifiers {
            ips: self.ips.clone(),
            hostnames: self.hostnames.clone(),
            generation: self.generation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const S: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

    fn none() -> [&'static str; 0] {
        []
    }

    #[test]
    fn d8_ips_are_source_then_dest_deduplicated_first_seen() {
        let a = Action::new(
            "a1",
            S,
            ["10.0.0.2", "10.0.0.1", "10.0.0.2"],
            ["10.0.0.3", "10.0.0.1"],
            none(),
        )
        .unwrap();
        assert_eq!(a.ips(), ["10.0.0.2", "10.0.0.1", "10.0.0.3"]);
        assert_eq!(a.src_ips(), ["10.0.0.2", "10.0.0.1"]);
        assert_eq!(a.dest_ips(), ["10.0.0.3", "10.0.0.1"]);
        assert_eq!(a.generation(), 0);
    }

    #[test]
    fn d8_ips_are_canonical() {
        let a = Action::new(
            "a",
            S,
            ["fe80:0:0::1", " 10.0.0.1 ", "::ffff:10.0.0.1", "[::2]"],
            none(),
            none(),
        )
        .unwrap();
        assert_eq!(a.ips(), ["fe80::1", "10.0.0.1", "::2"]);
    }

    #[test]
    fn d8_invalid_identifiers_are_refused() {
        let err = Action::new("a", S, ["10.0.0.1", "not-an-ip"], none(), none()).unwrap_err();
        assert_eq!(
            err,
            ActionError::InvalidIp {
                action: "a".into(),
                value: "not-an-ip".into()
            }
        );
        assert!(err.to_string().contains("not-an-ip"));
        assert!(matches!(
            Action::new("a", S, none(), none(), ["ok", "  "]),
            Err(ActionError::EmptyHostname { .. })
        ));
    }

    #[test]
    fn d8_hostnames_deduplicated_exactly() {
        let a = Action::new("a", S, none(), none(), ["web-1", " web-1", "WEB-1", "db"]).unwrap();
        assert_eq!(a.hostnames(), ["web-1", "WEB-1", "db"]);
    }

    #[test]
    fn statement_18_ip_set_grows_and_snapshots_keep_their_values() {
        let mut a = Action::new("a", S, ["10.0.0.1"], ["10.0.0.2"], ["h"]).unwrap();
        let before = a.identifiers();
        let added = a
            .add_ips(IpRole::Source, ["203.0.113.7", "10.0.0.2"])
            .unwrap();
        assert_eq!(added, ["203.0.113.7"]);
        assert_eq!(a.ips(), ["10.0.0.1", "10.0.0.2", "203.0.113.7"]);
        assert_eq!(a.src_ips(), ["10.0.0.1", "203.0.113.7", "10.0.0.2"]);
        assert_eq!(a.generation(), 1);
        assert_eq!(
            before.ips,
            ["10.0.0.1", "10.0.0.2"],
            "an issued window's snapshot is unchanged"
        );
        assert_eq!(before.generation, 0);
        // Adding nothing new does not bump the generation.
        assert!(a
            .add_ips(IpRole::Destination, ["10.0.0.1"])
            .unwrap()
            .is_empty());
        assert_eq!(a.generation(), 1);
        // An invalid value adds nothing.
        assert!(a.add_ips(IpRole::Source, ["198.51.100.1", "bad"]).is_err());
        assert_eq!(a.ips().len(), 3);
        assert_eq!(a.add_hostnames(["h2"]).unwrap(), ["h2"]);
        assert_eq!(a.identifiers().generation, 2);
    }
}

//! Nomad's status words as enums. Each has an `Other` arm holding any word this version of
//! opsctl does not know, so a newer Nomad still decodes; each reads and writes as Nomad's
//! string, and compares with a `&str` too.

/// An enum of known words plus `Other(String)`, read from and written as the word.
macro_rules! status_words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A word this version of opsctl does not know (or empty when absent).
            Other(String),
        }

        impl $name {
            /// The word, as Nomad (or AWS) spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(word) => word,
                }
            }
        }

        impl From<&str> for $name {
            fn from(word: &str) -> Self {
                match word {
                    $($word => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(word: String) -> Self {
                $name::from(word.as_str())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word: Option<String> = serde::Deserialize::deserialize(deserializer)?;
                Ok(word.map(Self::from).unwrap_or_default())
            }
        }
    };
}

pub(crate) use status_words;

status_words! {
    /// A Nomad server's gossip status (`/v1/agent/members`, serf's member states).
    ServerStatus {
        /// In the pool and answering.
        Alive = "alive",
        /// Leaving the pool.
        Leaving = "leaving",
        /// Left the pool.
        Left = "left",
        /// Stopped answering.
        Failed = "failed",
    }
}

status_words! {
    /// A Nomad client node's status (`structs.NodeStatus*`).
    NodeStatus {
        /// Registering.
        Initializing = "initializing",
        /// Ready for work.
        Ready = "ready",
        /// Missed its heartbeats.
        Down = "down",
        /// Disconnected, allocations kept (Nomad ≥ 1.3).
        Disconnected = "disconnected",
    }
}

status_words! {
    /// What an allocation's client reports (`structs.AllocClientStatus*`).
    AllocClientStatus {
        /// Not started yet.
        Pending = "pending",
        /// Running.
        Running = "running",
        /// Finished successfully.
        Complete = "complete",
        /// Failed.
        Failed = "failed",
        /// Its node went away.
        Lost = "lost",
        /// Its node is disconnected.
        Unknown = "unknown",
    }
}

status_words! {
    /// What the scheduler wants of an allocation (`structs.AllocDesiredStatus*`).
    AllocDesiredStatus {
        /// Keep it running.
        Run = "run",
        /// Stop it.
        Stop = "stop",
        /// Evict it.
        Evict = "evict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_ones_are_kept() {
        let alive: ServerStatus = serde_json::from_str("\"alive\"").unwrap();
        assert_eq!(alive, ServerStatus::Alive);
        let newer: ServerStatus = serde_json::from_str("\"rejoining\"").unwrap();
        assert_eq!(newer, ServerStatus::Other("rejoining".into()));
        assert_eq!(serde_json::to_string(&newer).unwrap(), "\"rejoining\"");
        let absent: NodeStatus = serde_json::from_str("null").unwrap();
        assert_eq!(absent, NodeStatus::default());
        assert!(AllocClientStatus::Running == "running");
    }
}

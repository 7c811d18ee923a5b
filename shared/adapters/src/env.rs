//! Configuration sections read from the environment: one typed getter over a lookup, and
//! errors that name the variable and say what would be valid.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use bridge_domain::staff::StaffError;

/// Reads one variable; `std::env::var` in production, a map in tests.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + Send + Sync + 'a;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: `{variable}` is required ({hint})")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("configuration: `{variable}` {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
    #[cfg(feature = "secrets")]
    #[error("configuration: {0}")]
    Secret(#[from] crate::secret_store::SecretStoreError),
    #[error("configuration: `STAFF`: {0}")]
    Staff(#[from] StaffError),
}

impl ConfigError {
    pub fn invalid(variable: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            variable,
            reason: reason.into(),
        }
    }
}

/// Typed reads over a lookup; blank values count as unset.
#[derive(Clone, Copy)]
pub struct Env<'l, 'a>(pub &'l Lookup<'a>);

impl Env<'_, '_> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing {
            variable: name,
            hint,
        })
    }

    /// The variable parsed as `T` (`FromStr`), `None` when unset; the error names the value
    /// and says what `T` expects.
    pub fn parsed<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.get(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|e| ConfigError::invalid(name, format!("is `{value}`; {e}")))
            })
            .transpose()
    }

    /// As [`Env::parsed`], with `default` when unset.
    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.parsed(name)?.unwrap_or(default))
    }

    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::invalid(
                name,
                format!("is `{other}`; expected `true` or `false`"),
            )),
        }
    }

    pub fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ConfigError::invalid(name, format!("is `{v}`; expected a whole number"))
            }),
        }
    }

    pub fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default).map(Duration::from_millis)
    }

    pub fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default).map(Duration::from_secs)
    }

    /// A comma-separated list of `T`, lower-cased; empty when unset.
    pub fn list<T>(&self, name: &'static str) -> Result<Vec<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.get(name)
            .unwrap_or_default()
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .map(|word| {
                word.parse()
                    .map_err(|e| ConfigError::invalid(name, format!("lists `{word}`; {e}")))
            })
            .collect()
    }
}

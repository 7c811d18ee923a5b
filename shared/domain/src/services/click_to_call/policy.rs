//! Where click-to-call may dial: the allowed countries and the refused kinds of number, both
//! decided from libphonenumber's metadata (the country a number belongs to, and whether its
//! range is premium rate, shared cost, a personal or universal access number…), never from
//! hand-written prefixes.

use std::fmt;

use phonenumber::Type;
use phonenumber::country::Id as Country;
use phonenumber::metadata::Database;

use crate::phone::{PhoneNumber, metadata_for};

/// A kind of number, as libphonenumber classifies its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberKind(pub Type);

/// Every kind with its configuration name.
const KINDS: [(Type, &str); 17] = [
    (Type::FixedLine, "fixed_line"),
    (Type::Mobile, "mobile"),
    (Type::FixedLineOrMobile, "fixed_line_or_mobile"),
    (Type::TollFree, "toll_free"),
    (Type::PremiumRate, "premium_rate"),
    (Type::SharedCost, "shared_cost"),
    (Type::PersonalNumber, "personal_number"),
    (Type::Voip, "voip"),
    (Type::Pager, "pager"),
    (Type::Uan, "uan"),
    (Type::Emergency, "emergency"),
    (Type::Voicemail, "voicemail"),
    (Type::ShortCode, "short_code"),
    (Type::StandardRate, "standard_rate"),
    (Type::Carrier, "carrier"),
    (Type::NoInternational, "no_international"),
    (Type::Unknown, "unknown"),
];

impl NumberKind {
    /// The configuration name (`premium_rate`, `shared_cost`, …).
    pub fn as_str(self) -> &'static str {
        KINDS
            .iter()
            .find(|(kind, _)| *kind == self.0)
            .map_or("unknown", |(_, name)| name)
    }

    /// A configuration name, compared without regard to case, `-` or spaces.
    pub fn named(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        KINDS
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(kind, _)| Self(*kind))
    }

    /// Every configuration name, for error messages.
    pub fn names() -> impl Iterator<Item = &'static str> {
        KINDS.iter().map(|(_, name)| *name)
    }
}

impl fmt::Display for NumberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "calls to {country} numbers are not allowed (allowed: {allowed}; CLICK_TO_CALL_COUNTRIES)"
    )]
    Country {
        /// ISO 3166 code, or `an international network` for non-geographic codes (+800, +882…).
        country: String,
        allowed: String,
    },
    #[error("{kind} numbers are refused (CLICK_TO_CALL_REFUSED_TYPES)")]
    Kind { kind: NumberKind },
}

/// The destinations click-to-call may dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationPolicy {
    countries: Vec<Country>,
    refused: Vec<NumberKind>,
}

/// Refused unless configured otherwise: the kinds that cost the caller more than a call, or hide
/// where the call really goes.
pub const DEFAULT_REFUSED: [Type; 4] = [
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Uan,
];

impl Default for DestinationPolicy {
    /// Ukraine only, the [`DEFAULT_REFUSED`] kinds refused.
    fn default() -> Self {
        Self::new(vec![Country::UA], DEFAULT_REFUSED.map(NumberKind).to_vec())
    }
}

impl DestinationPolicy {
    pub fn new(countries: Vec<Country>, refused: Vec<NumberKind>) -> Self {
        Self { countries, refused }
    }

    pub fn countries(&self) -> &[Country] {
        &self.countries
    }

    pub fn refused(&self) -> &[NumberKind] {
        &self.refused
    }

    /// Whether click-to-call may dial `phone`.
    pub fn check(&self, phone: &PhoneNumber) -> Result<(), Refusal> {
        let (country, kind) = classify(phone);
        if !country.is_some_and(|c| self.countries.contains(&c)) {
            return Err(Refusal::Country {
                country: country.map_or_else(
                    || "an international network".to_owned(),
                    |c| c.as_ref().to_owned(),
                ),
                allowed: self
                    .countries
                    .iter()
                    .map(|c| c.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if self.refused.contains(&kind) {
            return Err(Refusal::Kind { kind });
        }
        Ok(())
    }
}

/// The number's country (`None` for non-geographic codes) and kind, from the metadata.
fn classify(phone: &PhoneNumber) -> (Option<Country>, NumberKind) {
    let database = metadata_for(phone);
    match phonenumber::parse_with(database, None, phone.e164()) {
        Ok(parsed) => (
            // What `parsed.country().id()` reads, from this database rather than the world's.
            parsed
                .metadata(database)
                .and_then(|metadata| metadata.id().parse().ok()),
            NumberKind(parsed.number_type(database)),
        ),
        // A PhoneNumber is valid E.164: this does not happen, and refuses if it does.
        Err(_) => (None, NumberKind(Type::Unknown)),
    }
}

/// A country code from configuration (`UA`, `pl`).
pub fn country_named(code: &str) -> Option<Country> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// `+380 50 123 4567`: the number as people read it, for the confirmation page.
pub fn readable(phone: &PhoneNumber) -> String {
    let database = metadata_for(phone);
    phonenumber::parse_with(database, None, phone.e164())
        .ok()
        .and_then(|parsed| international(database, &parsed))
        .unwrap_or_else(|| phone.e164().to_owned())
}

/// The crate's `Mode::International` formatting (its `formatter` and `replace`, for a number
/// without an extension, as an E.164 one is), done here because its `Display` loads the world's
/// metadata even when given Ukraine's alone. `None` for a country code `database` lacks.
fn international(database: &Database, parsed: &phonenumber::PhoneNumber) -> Option<String> {
    let code = parsed.code().value();
    let metadata = database.by_code(&code)?.into_iter().next()?;
    let national = parsed.national().to_string();
    let formats = if metadata.international_formats().is_empty() {
        metadata.formats()
    } else {
        metadata.international_formats()
    };
    // The first format whose last leading-digits pattern matches at the start and whose
    // pattern matches the whole number.
    let format = formats.iter().find(|format| {
        format.leading_digits().last().is_none_or(|leading| {
            leading.find(&national).is_some_and(|m| m.start() == 0)
                && format
                    .pattern()
                    .find(&national)
                    .is_some_and(|m| m.start() == 0 && m.end() == national.len())
        })
    });
    Some(match format {
        Some(format) => format!(
            "+{code} {}",
            format.pattern().replace(&national, format.format())
        ),
        None => format!("+{code} {national}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(raw: &str) -> PhoneNumber {
        PhoneNumber::parse(raw).unwrap()
    }

    #[test]
    fn ukrainian_mobile_and_fixed_numbers_pass_the_default_policy() {
        let policy = DestinationPolicy::default();
        for raw in ["+380501234567", "+380441112233", "+380800123456"] {
            assert_eq!(policy.check(&phone(raw)), Ok(()), "{raw}");
        }
    }

    #[test]
    fn premium_rate_and_foreign_numbers_are_refused_by_default() {
        let policy = DestinationPolicy::default();
        assert_eq!(
            policy.check(&phone("+380900212345")),
            Err(Refusal::Kind {
                kind: NumberKind(Type::PremiumRate)
            })
        );
        assert!(matches!(
            policy.check(&phone("+48221234567")),
            Err(Refusal::Country { country, .. }) if country == "PL"
        ));
    }

    #[test]
    fn other_countries_and_kinds_follow_the_configuration() {
        let policy = DestinationPolicy::new(
            vec![Country::UA, Country::GB],
            vec![NumberKind(Type::PremiumRate), NumberKind(Type::Voip)],
        );
        assert_eq!(policy.check(&phone("+442079460000")), Ok(()));
        assert_eq!(
            policy.check(&phone("+449098765432")),
            Err(Refusal::Kind {
                kind: NumberKind(Type::PremiumRate)
            })
        );
        // A universal access number (UK 055…) is no longer refused once it is not listed, and
        // is by default.
        assert_eq!(policy.check(&phone("+445512345678")), Ok(()));
        assert_eq!(
            DestinationPolicy::new(vec![Country::GB], DEFAULT_REFUSED.map(NumberKind).to_vec())
                .check(&phone("+445512345678")),
            Err(Refusal::Kind {
                kind: NumberKind(Type::Uan)
            })
        );
        assert_eq!(
            policy.check(&phone("+380891234567")),
            Err(Refusal::Kind {
                kind: NumberKind(Type::Voip)
            })
        );
    }

    #[test]
    fn kind_and_country_names_read_from_configuration() {
        assert_eq!(
            NumberKind::named("Premium-Rate"),
            Some(NumberKind(Type::PremiumRate))
        );
        assert_eq!(NumberKind::named("premium"), None);
        assert_eq!(NumberKind(Type::Uan).to_string(), "uan");
        assert_eq!(country_named(" pl "), Some(Country::PL));
        assert_eq!(country_named("Ukraine"), None);
        assert_eq!(readable(&phone("0501234567")), "+380 50 123 4567");
    }

    /// `readable` writes what the crate's own International formatting writes, for Ukrainian
    /// numbers of every kind (Ukraine's metadata) and foreign ones (the world's).
    #[test]
    fn readable_matches_the_crates_international_format() {
        let mut numbers = vec![
            "+48221234567",
            "+442079460000",
            "+390212345678",
            "+12025550143",
            "+80012345678",
        ];
        let ukrainian: Vec<String> = [
            "44", "50", "63", "67", "800", "900", "89", "322", "3422", "5657",
        ]
        .iter()
        .flat_map(|prefix| {
            ["1234567", "2345678", "7654321", "1112233"]
                .map(|rest| format!("+380{prefix}{}", &rest[..9 - prefix.len()]))
        })
        .collect();
        numbers.extend(ukrainian.iter().map(String::as_str));
        let mut checked = 0;
        for raw in numbers {
            let Ok(number) = PhoneNumber::parse(raw) else {
                continue;
            };
            let crate_format = phonenumber::parse(None, number.e164())
                .unwrap()
                .format()
                .mode(phonenumber::Mode::International)
                .to_string();
            assert_eq!(readable(&number), crate_format, "{raw}");
            checked += 1;
        }
        assert!(checked >= 30, "only {checked} numbers were valid");
    }
}

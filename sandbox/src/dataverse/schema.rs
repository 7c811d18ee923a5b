//! The metadata of each entity set the sandbox serves: columns with their kinds and lengths,
//! `@odata.bind` navigation properties, and the phone-call state/status pairs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entity {
    SystemUser,
    Contact,
    PhoneCall,
    Annotation,
    Opportunity,
}

/// What a column holds, for the type and length checks of writes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Text(usize),
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Number,
    DateTime,
    /// Computed or system-set: readable, silently ignored on write (as Dataverse does).
    ReadOnly,
}

/// A single-valued navigation property usable with `@odata.bind`.
pub(super) struct Bind {
    pub(super) navigation: &'static str,
    /// The lookup attribute it sets (`_<attribute>_value` when read).
    pub(super) attribute: &'static str,
    pub(super) target: Entity,
}

pub(super) struct Spec {
    pub(super) set: &'static str,
    pub(super) logical: &'static str,
    pub(super) key: &'static str,
    pub(super) columns: &'static [(&'static str, Kind)],
    pub(super) binds: &'static [Bind],
    /// A tenant can add its own columns (`new_utmsource`) to this table; which ones it has is
    /// the tenant's ([`super::DataverseState::add_custom_column`]).
    custom_columns: bool,
}

const TEXT50: Kind = Kind::Text(50);

const USER_SPEC: Spec = Spec {
    set: "systemusers",
    logical: "systemuser",
    key: "systemuserid",
    columns: &[
        ("fullname", Kind::ReadOnly),
        ("firstname", Kind::ReadOnly),
        ("lastname", Kind::ReadOnly),
        ("internalemailaddress", Kind::ReadOnly),
        ("domainname", Kind::ReadOnly),
        ("isdisabled", Kind::ReadOnly),
        ("accessmode", Kind::ReadOnly),
        ("applicationid", Kind::ReadOnly),
        ("mobilephone", Kind::ReadOnly),
        ("address1_telephone1", Kind::ReadOnly),
    ],
    binds: &[],
    custom_columns: false,
};

const CONTACT_SPEC: Spec = Spec {
    set: "contacts",
    logical: "contact",
    key: "contactid",
    columns: &[
        ("fullname", Kind::ReadOnly),
        ("firstname", TEXT50),
        ("middlename", TEXT50),
        ("lastname", TEXT50),
        ("telephone1", TEXT50),
        ("telephone2", TEXT50),
        ("telephone3", TEXT50),
        ("mobilephone", TEXT50),
        ("emailaddress1", Kind::Text(100)),
        ("jobtitle", Kind::Text(100)),
        ("description", Kind::Text(2000)),
        ("address1_city", Kind::Text(80)),
    ],
    binds: &[Bind {
        navigation: "ownerid",
        attribute: "ownerid",
        target: Entity::SystemUser,
    }],
    custom_columns: true,
};

const PHONECALL_SPEC: Spec = Spec {
    set: "phonecalls",
    logical: "phonecall",
    key: "activityid",
    columns: &[
        ("subject", Kind::Text(200)),
        ("description", Kind::Text(2000)),
        ("phonenumber", Kind::Text(200)),
        ("directioncode", Kind::Bool),
        ("actualstart", Kind::DateTime),
        ("actualend", Kind::DateTime),
        ("scheduledstart", Kind::DateTime),
        ("scheduledend", Kind::DateTime),
        (
            "actualdurationminutes",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        (
            "scheduleddurationminutes",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        ("category", Kind::Text(250)),
        ("subcategory", Kind::Text(250)),
        ("prioritycode", Kind::Int { min: 0, max: 2 }),
        ("leftvoicemail", Kind::Bool),
    ],
    binds: &[
        Bind {
            navigation: "regardingobjectid_contact_phonecall",
            attribute: "regardingobjectid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: false,
};

const ANNOTATION_SPEC: Spec = Spec {
    set: "annotations",
    logical: "annotation",
    key: "annotationid",
    columns: &[
        ("subject", Kind::Text(500)),
        ("notetext", Kind::Text(100_000)),
        ("objecttypecode", Kind::Text(64)),
        ("isdocument", Kind::Bool),
        ("filename", Kind::Text(255)),
        ("mimetype", Kind::Text(256)),
    ],
    binds: &[
        Bind {
            navigation: "objectid_contact",
            attribute: "objectid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: false,
};

const OPPORTUNITY_SPEC: Spec = Spec {
    set: "opportunities",
    logical: "opportunity",
    key: "opportunityid",
    columns: &[
        ("name", Kind::Text(300)),
        ("description", Kind::Text(2000)),
        ("stepname", Kind::Text(200)),
        (
            "salesstagecode",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        ("estimatedvalue", Kind::Number),
        ("estimatedclosedate", Kind::DateTime),
        ("closeprobability", Kind::Int { min: 0, max: 100 }),
    ],
    binds: &[
        Bind {
            navigation: "customerid_contact",
            attribute: "customerid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "parentcontactid",
            attribute: "parentcontactid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: true,
};

impl Entity {
    pub(super) fn spec(self) -> &'static Spec {
        match self {
            Self::SystemUser => &USER_SPEC,
            Self::Contact => &CONTACT_SPEC,
            Self::PhoneCall => &PHONECALL_SPEC,
            Self::Annotation => &ANNOTATION_SPEC,
            Self::Opportunity => &OPPORTUNITY_SPEC,
        }
    }

    pub(super) fn from_set(set: &str) -> Option<Self> {
        [
            Self::SystemUser,
            Self::Contact,
            Self::PhoneCall,
            Self::Annotation,
            Self::Opportunity,
        ]
        .into_iter()
        .find(|e| e.spec().set == set)
    }

    pub(super) fn is_activity(self) -> bool {
        self == Self::PhoneCall
    }

    /// Whether `name` is one of the table's standard columns or lookups that can be selected,
    /// filtered or ordered on. The tenant's custom columns come on top
    /// ([`super::DataverseState::is_readable`]).
    pub(super) fn is_standard_readable(self, name: &str) -> bool {
        let spec = self.spec();
        name == spec.key
            || name == "createdon"
            || name == "modifiedon"
            || spec.columns.iter().any(|(c, _)| *c == name)
            || (self != Self::SystemUser && name == "_ownerid_value")
            || spec
                .binds
                .iter()
                .any(|b| name == format!("_{}_value", b.attribute))
            || (self.is_activity() && (name == "statecode" || name == "statuscode"))
    }

    /// The kind of a standard column.
    pub(super) fn standard_column_kind(self, name: &str) -> Option<Kind> {
        self.spec()
            .columns
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, kind)| *kind)
    }

    /// Whether a tenant can add its own columns to this table.
    pub(super) fn takes_custom_columns(self) -> bool {
        self.spec().custom_columns
    }

    pub(super) fn from_logical(logical: &str) -> Option<Self> {
        [
            Self::SystemUser,
            Self::Contact,
            Self::PhoneCall,
            Self::Annotation,
            Self::Opportunity,
        ]
        .into_iter()
        .find(|e| e.spec().logical == logical)
    }
}

/// `new_utmsource`, `cr1a2_mobile`: a publisher's customization prefix (2 to 8 letters and
/// digits, starting with a letter, never `mscrm`), an underscore, a name; in lower case, as
/// logical names are.
pub(super) fn is_custom_column(name: &str) -> bool {
    match name.split_once('_') {
        Some((prefix, rest)) => {
            (2..=8).contains(&prefix.len())
                && prefix.starts_with(|c: char| c.is_ascii_lowercase())
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && !prefix.starts_with("mscrm")
                && !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !rest.ends_with("_value")
        }
        None => false,
    }
}

pub(super) fn state_label(state: i64) -> &'static str {
    match state {
        0 => "Open",
        1 => "Completed",
        2 => "Canceled",
        _ => "Unknown",
    }
}

pub(super) fn status_label(status: i64) -> &'static str {
    match status {
        1 => "Open",
        2 => "Made",
        3 => "Canceled",
        4 => "Received",
        _ => "Unknown",
    }
}

/// The documented phonecall state/status pairs.
pub(super) fn valid_state_status(state: i64, status: i64) -> bool {
    matches!((state, status), (0, 1) | (1, 2) | (1, 4) | (2, 3))
}

pub(super) fn default_status(state: i64) -> Option<i64> {
    match state {
        0 => Some(1),
        1 => Some(2),
        2 => Some(3),
        _ => None,
    }
}

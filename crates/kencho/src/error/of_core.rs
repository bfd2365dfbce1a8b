//! The words of kencho-core's refusals: the core names its reasons as types with stable codes;
//! here each becomes the key of its text in `locales/*.toml` (`detail.*`) and the values of its
//! placeholders.

use kencho_core::application::TransitionError;
use kencho_core::approval::route::ProposeError;
use kencho_core::approval::rules::RuleError;
use kencho_core::evacuation::data::LoadError;
use kencho_core::evacuation::encoding::EncodingError;
use kencho_core::evacuation::jma::{Expected, JmaError};
use kencho_core::payment::fee::FeeError;
use kencho_core::payment::refund::RefundError;
use kencho_core::payment::schedule::ScheduleError;
use kencho_core::procedure::DefinitionError;

use super::Detail;

impl From<&TransitionError> for Detail {
    fn from(e: &TransitionError) -> Detail {
        match e {
            TransitionError::WrongStatus(s) => detail!("detail.transition.wrong_status")
                .arg_detail("status", Detail::of_key(crate::i18n::words::status_key(*s))),
            TransitionError::Forbidden => detail!("detail.transition.forbidden"),
            TransitionError::MessageRequired => detail!("detail.transition.message_required"),
            TransitionError::MessageTooLong => detail!("detail.transition.message_too_long"),
        }
    }
}

/// A procedure definition refused: the file, then every problem found in it
/// (`request.toml: retention_years: must be 1, 3, 5, 10 or 30; pages[0].title: …`).
impl From<&DefinitionError> for Detail {
    fn from(e: &DefinitionError) -> Detail {
        Detail::at(&e.file, Detail::findings(&e.findings, "; "))
    }
}

impl From<&ScheduleError> for Detail {
    fn from(e: &ScheduleError) -> Detail {
        match e {
            ScheduleError::UnknownItem(item) => detail!("detail.schedule.unknown_item", item = format!("{item:?}")),
            ScheduleError::UnknownGround(ground) => {
                detail!("detail.schedule.unknown_ground", ground = format!("{ground:?}"))
            }
            ScheduleError::GroundNotForItem { ground, item } => detail!(
                "detail.schedule.ground_not_for_item",
                ground = format!("{ground:?}"),
                item = format!("{item:?}")
            ),
            ScheduleError::Quantity { max } => detail!("detail.fee.quantity", max = max),
            ScheduleError::TooLarge => detail!("detail.schedule.too_large"),
        }
    }
}

impl From<&FeeError> for Detail {
    fn from(e: &FeeError) -> Detail {
        match e {
            FeeError::Quantity { max } => detail!("detail.fee.quantity", max = max),
            FeeError::StaffAmount => detail!("detail.fee.staff_amount"),
            FeeError::Exemption => detail!("detail.fee.exemption"),
            FeeError::SetByStaffBeforeReview => detail!("detail.fee.set_by_staff_before_review"),
            FeeError::Amount => detail!("detail.fee.amount"),
        }
    }
}

impl From<&RefundError> for Detail {
    fn from(e: &RefundError) -> Detail {
        match e {
            RefundError::SamePerson => detail!("detail.refund.same_person"),
            RefundError::WrongState(state) => detail!("detail.refund.wrong_state")
                .arg_detail("state", Detail::of_key(format!("pay.refund_state_{state}"))),
        }
    }
}

impl From<&ProposeError> for Detail {
    fn from(e: &ProposeError) -> Detail {
        match e {
            ProposeError::Rule(r) => Detail::from(r),
            ProposeError::NotDrafterPost(post) => detail!("detail.route.not_drafter_post", post = &post.0),
            ProposeError::NoPostInDivision(d) => detail!("detail.route.no_post_in_division", division = &d.0),
        }
    }
}

impl From<&RuleError> for Detail {
    fn from(e: &RuleError) -> Detail {
        match e {
            RuleError::NoRule { kind, date } => detail!("detail.route.no_rule", kind = kind, date = date),
            RuleError::Ambiguous { kind, date } => detail!("detail.route.ambiguous", kind = kind, date = date),
            RuleError::EmptyLine => detail!("detail.route.empty_line"),
            RuleError::NotInLine(post) => detail!("detail.route.not_in_line", post = &post.0),
            RuleError::NoSuchRank(rank) => detail!("detail.route.no_such_rank", rank = rank.0),
        }
    }
}

/// A public data file that does not make a layer: where (the file, the feature or line) and
/// what is wrong there.
impl From<&LoadError> for Detail {
    fn from(e: &LoadError) -> Detail {
        match e {
            LoadError::Json(message) => detail!("detail.data.json", message = message),
            LoadError::NotFeatureCollection => detail!("detail.data.not_feature_collection"),
            LoadError::Feature { feature, problem } => {
                detail!("detail.data.feature", feature = feature).arg_detail("what", Detail::from(problem))
            }
            LoadError::Row { line, problem } => {
                detail!("detail.data.line", line = line).arg_detail("what", Detail::from(problem))
            }
            LoadError::MissingColumn { expected, found } => missing_column(expected, found),
            LoadError::Encoding(e) => Detail::from(e),
            LoadError::Files(problem) => Detail::from(problem),
            LoadError::Empty => detail!("detail.data.empty"),
            LoadError::InFile { file, error } => Detail::at(file, Detail::from(error.as_ref())),
        }
    }
}

/// The header as read, the first columns of a long one.
fn missing_column(expected: &str, found: &[String]) -> Detail {
    const SHOWN: usize = 16;
    let shown = found.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    if shown.is_empty() {
        detail!("detail.data.missing_column_no_header", expected = expected)
    } else if found.len() > SHOWN {
        detail!("detail.data.missing_column_long", expected = expected, found = shown, count = found.len())
    } else {
        detail!("detail.data.missing_column", expected = expected, found = shown)
    }
}

impl From<&EncodingError> for Detail {
    fn from(e: &EncodingError) -> Detail {
        match e {
            EncodingError::BadUtf8AfterBom { offset } => detail!("detail.data.bom_not_utf8", offset = offset),
            EncodingError::Unknown { utf8_at } => detail!("detail.data.unknown_encoding", offset = utf8_at),
            EncodingError::Utf16 => detail!("detail.data.utf16"),
        }
    }
}

/// The values of a JMA telegram's refusal (`error.jma_*`), what was expected in `lang`.
pub(super) fn telegram_args(e: &JmaError, lang: &str) -> Vec<(&'static str, String)> {
    match e {
        JmaError::NotXml(d) => vec![("detail", d.clone())],
        JmaError::Element { found, expected } => vec![("found", found.clone()), ("expected", expected.clone())],
        JmaError::Missing { element, parent } => vec![("element", element.clone()), ("parent", parent.clone())],
        JmaError::Value { element, found, expected } => {
            let expected = match expected {
                Expected::Operation => detail!("detail.jma.expected_operation"),
                Expected::DateTime => detail!("detail.jma.expected_datetime"),
                Expected::InfoType => detail!("detail.jma.expected_info_type"),
                Expected::KindStatus => detail!("detail.jma.expected_kind_status"),
                Expected::CityCode => detail!("detail.jma.expected_city_code"),
            };
            vec![("element", element.clone()), ("found", found.clone()), ("expected", expected.text(lang))]
        }
    }
}

#[cfg(test)]
mod tests {
    use kencho_core::procedure::ProcedureDef;

    use super::super::AppError;

    /// A definition with several problems: all of them, each where it is, in the reader's
    /// language (the API's message in English).
    #[test]
    fn a_definition_names_every_problem_in_the_readers_language() {
        let text = include_str!("../../../../demo/procedures/minamisoma-inu-toroku.toml")
            .replace("standard_days = 7", "standard_days = 0")
            .replace("retention_years = 5", "retention_years = 4");
        let e = AppError::from(ProcedureDef::parse("x.toml", &text).unwrap_err());
        assert_eq!(
            e.message("en"),
            "The procedure definition is not valid: x.toml: standard_days: must be between 1 and 365; \
             retention_years: must be 1, 3, 5, 10 or 30"
        );
        assert_eq!(
            e.message("ja"),
            "手続の定義が正しくありません：x.toml：standard_days：1から365までです; \
             retention_years：1、3、5、10、30のいずれかです"
        );
    }
}

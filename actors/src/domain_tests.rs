//! The domain vocabulary's own rules: the priority matrix, enum spellings, built-in statuses.

use super::*;

#[test]
fn default_matrix_escalates_with_both_axes() {
    let matrix = PriorityMatrix::default();
    assert_eq!(matrix.priority(Level::Low, Level::Low), Priority::Low);
    assert_eq!(matrix.priority(Level::Critical, Level::Critical), Priority::Urgent);
    assert_eq!(matrix.priority(Level::High, Level::Medium), Priority::High);
}

#[test]
fn enums_round_trip_through_text() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>().ok(), Some(*role));
    }
    assert!("boss".parse::<Role>().is_err());
}

#[test]
fn builtin_statuses_cover_every_category() {
    let statuses = TicketStatus::builtins();
    assert_eq!(statuses.len(), 5);
    assert_eq!(statuses[0].label, "New");
}

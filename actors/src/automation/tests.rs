//! The automation rules' pure parts: the format, the waits, the triggers.

use super::engine::*;
use super::*;

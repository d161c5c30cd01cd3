//! One module per subcommand.

pub mod quantity;
pub mod top;

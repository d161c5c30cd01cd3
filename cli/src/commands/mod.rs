//! One module per subcommand.

pub mod quantity;

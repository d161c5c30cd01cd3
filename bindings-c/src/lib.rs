//! Skeleton: filled by the binding issue.

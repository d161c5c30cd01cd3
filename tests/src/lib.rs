//! Test support: a loopback API server that speaks what kube-apiserver speaks.

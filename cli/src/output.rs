//! Writing to stdout and stderr, and stopping the way kubectl stops when nobody reads any more.
//!
//! `kubemetrics top pod -A | head -1`: once `head` has its line and exits, every further write to
//! the pipe fails with EPIPE. kubectl is a Go program, and Go's runtime handles exactly this case:
//! a write that fails with EPIPE on file descriptor 1 or 2 kills the process with SIGPIPE (no
//! message; a shell reports status 141 and, in a pipeline, says nothing), while EPIPE on any
//! other descriptor, such as a network connection, is only an error returned to the caller.
//! kubemetrics behaves the same way:
//!
//! - SIGPIPE stays ignored, as Rust's runtime leaves it, so a peer closing a connection makes that
//!   socket's write fail with an error the HTTP client or server deals with. Restoring SIGPIPE's
//!   default action for the whole process instead would let any closed connection silently kill
//!   `serve`, `demo` or `top --watch` (vectored socket writes do not ask the kernel to spare the
//!   process).
//! - What a command prints goes through [`print`] and [`eprint`]; when the write fails with EPIPE
//!   they call [`exit_broken_pipe`], which restores SIGPIPE's default action and raises it.
//! - [`install_panic_hook`] does the same for code still printing with `print!`/`eprintln!`
//!   (which panic when the write fails), so it too dies of SIGPIPE instead of printing a panic
//!   message and exiting with status 101.

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

/// Exit status when SIGPIPE cannot end the process: the one a shell reports for a process killed by
/// SIGPIPE (128 + 13), so scripts see the same number.
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Writes all of `text` to stdout and flushes it.
///
/// A reader that went away ends the process ([`exit_broken_pipe`]). Any other failure (say, a
/// full disk behind a redirection) is reported on stderr as `error: cannot write to standard
/// output: ...` and returned as exit status 1.
pub fn print(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => exit_broken_pipe(),
        Err(e) => {
            eprint(&format!("error: cannot write to standard output: {e}\n"));
            Err(ExitCode::from(1))
        }
    }
}

/// Writes all of `text` to stderr.
///
/// A reader that went away ends the process ([`exit_broken_pipe`]), as it does kubectl; other
/// failures are ignored, there is nowhere left to report them.
pub fn eprint(text: &str) {
    let mut err = std::io::stderr().lock();
    if let Err(e) = err.write_all(text.as_bytes()).and_then(|()| err.flush())
        && e.kind() == ErrorKind::BrokenPipe
    {
        exit_broken_pipe();
    }
}

/// Ends the process as a broken stdout or stderr ends a Go program: killed by SIGPIPE, silently.
///
/// Where there are no signals (or SIGPIPE somehow does not end the process), exits with
/// [`BROKEN_PIPE_STATUS`].
pub fn exit_broken_pipe() -> ! {
    #[cfg(unix)]
    // SAFETY: plain libc calls with valid arguments: `sigset_t` is a C struct for which all-zero
    // bytes are a valid value (and `sigemptyset` initialises it anyway), the old mask is not asked
    // for (null), and nothing here touches Rust-managed memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut pipe_only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        // A parent may have started us with SIGPIPE blocked; raise() would then only leave it pending.
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &pipe_only, std::ptr::null_mut());
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(BROKEN_PIPE_STATUS)
}

/// Makes `print!`, `println!`, `eprint!` and `eprintln!` whose write fails with EPIPE end the
/// process like [`print`] does (std panics in that case); every other panic is reported as before.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(is_broken_pipe_print) {
            exit_broken_pipe();
        }
        previous(info);
    }));
}

/// Whether `message` is std's panic message for a print macro whose write failed with EPIPE
/// (`failed printing to stdout: Broken pipe (os error 32)`).
fn is_broken_pipe_print(message: &str) -> bool {
    #[cfg(unix)]
    {
        let epipe = std::io::Error::from_raw_os_error(libc::EPIPE).to_string();
        ["stdout", "stderr"].iter().any(|stream| message == format!("failed printing to {stream}: {epipe}"))
    }
    #[cfg(not(unix))]
    {
        let _ = message;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn recognises_only_broken_pipe_print_panics() {
        assert!(is_broken_pipe_print("failed printing to stdout: Broken pipe (os error 32)"));
        assert!(is_broken_pipe_print("failed printing to stderr: Broken pipe (os error 32)"));
        assert!(!is_broken_pipe_print("failed printing to stdout: No space left on device (os error 28)"));
        assert!(!is_broken_pipe_print("Broken pipe (os error 32)"));
        assert!(!is_broken_pipe_print("called `Option::unwrap()` on a `None` value"));
    }
}

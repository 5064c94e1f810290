//! Status codes, the per-thread detail message, and the guard every exported function runs in.

use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a call returned. `ARBP_OK` is 0; values are never renumbered, new ones are only added.
/// Every failing call also sets the calling thread's detail message (`arbp_last_error`).
#[repr(i32)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum arbp_status {
    /// Success.
    ARBP_OK = 0,
    /// A required pointer was NULL.
    ARBP_NULL_POINTER = 1,
    /// A length, count, index or `struct_size` is wrong.
    ARBP_INVALID_ARGUMENT = 2,
    /// A value is refused: not finite, out of range, a bad name, a configuration or book that
    /// fails validation.
    ARBP_INVALID_INPUT = 3,
    /// An output buffer is too small; the size needed is reported, nothing is written.
    ARBP_BUFFER_TOO_SMALL = 4,
    /// Text is not valid UTF-8.
    ARBP_INVALID_UTF8 = 5,
    /// A JSON request is malformed (syntax, an unknown or missing field, a wrong type).
    ARBP_MALFORMED_JSON = 6,
    /// The model is refused: not ONNX nor a native weights artifact, the wrong shapes or versions,
    /// a truncated or corrupt file.
    ARBP_INVALID_MODEL = 7,
    /// A file could not be read.
    ARBP_IO_ERROR = 8,
    /// The model failed while running.
    ARBP_RUNTIME_ERROR = 9,
    /// An internal error was caught before it could cross into the host; please report it.
    ARBP_PANIC = 10,
}

/// A static NUL-terminated description of a status, e.g. `"ARBP_NULL_POINTER: a required pointer
/// was NULL"`; `"unknown status"` for a value this library does not define.
#[unsafe(no_mangle)]
pub extern "C" fn arbp_status_str(status: i32) -> *const c_char {
    let text: &'static str = match status {
        0 => "ARBP_OK: success\0",
        1 => "ARBP_NULL_POINTER: a required pointer was NULL\0",
        2 => "ARBP_INVALID_ARGUMENT: a length, count, index or struct_size is wrong\0",
        3 => "ARBP_INVALID_INPUT: a value is refused (not finite, out of range or invalid)\0",
        4 => "ARBP_BUFFER_TOO_SMALL: an output buffer is too small\0",
        5 => "ARBP_INVALID_UTF8: text is not valid UTF-8\0",
        6 => "ARBP_MALFORMED_JSON: the JSON request is malformed\0",
        7 => "ARBP_INVALID_MODEL: the model is refused\0",
        8 => "ARBP_IO_ERROR: a file could not be read\0",
        9 => "ARBP_RUNTIME_ERROR: the model failed while running\0",
        10 => "ARBP_PANIC: an internal error was caught\0",
        _ => "unknown status\0",
    };
    text.as_ptr().cast()
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Copy the calling thread's last detail message (of the last call on this thread that failed;
/// empty before any) into `buf`, NUL-terminated and cut to `len - 1` bytes, and return the size
/// the whole message needs with its NUL. `buf` may be NULL when `len` is 0, to ask the size.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_last_error(buf: *mut c_char, len: usize) -> usize {
    LAST_ERROR.with(|m| {
        let m = m.borrow();
        let bytes = m.as_bytes();
        if !buf.is_null() && len > 0 {
            let n = bytes.len().min(len - 1);
            // SAFETY: the caller gives `len` writable bytes at `buf`; `n + 1 <= len`.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                *buf.add(n) = 0;
            }
        }
        bytes.len() + 1
    })
}

/// A failed call: its status and message.
#[derive(Debug)]
// Public only so that a struct record can name it as its error; the module keeps it inside the crate.
pub struct Failure {
    pub(crate) status: arbp_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: arbp_status, message: impl Display) -> Self {
        Failure { status, message: message.to_string() }
    }
}

pub(crate) fn invalid_argument(message: impl Display) -> Failure {
    Failure::new(arbp_status::ARBP_INVALID_ARGUMENT, message)
}

pub(crate) fn invalid_input(message: impl Display) -> Failure {
    Failure::new(arbp_status::ARBP_INVALID_INPUT, message)
}

impl From<arbpolicy_core::Error> for Failure {
    fn from(e: arbpolicy_core::Error) -> Self {
        invalid_input(e)
    }
}

impl From<arbpolicy_core::host::HostError> for Failure {
    fn from(e: arbpolicy_core::host::HostError) -> Self {
        use arbpolicy_core::{Error, host::HostError};
        let status = match e {
            HostError::WrongSize { .. } => arbp_status::ARBP_INVALID_ARGUMENT,
            e if e.engine_error() == Some(Error::NameNotUtf8) => arbp_status::ARBP_INVALID_UTF8,
            _ => arbp_status::ARBP_INVALID_INPUT,
        };
        Failure::new(status, e)
    }
}

impl From<arbpolicy_core::policy::onnx::ModelError> for Failure {
    fn from(e: arbpolicy_core::policy::onnx::ModelError) -> Self {
        use arbpolicy_core::policy::onnx::ModelError;
        let status = match e {
            ModelError::Runtime(_) => arbp_status::ARBP_RUNTIME_ERROR,
            ModelError::Io(_) => arbp_status::ARBP_IO_ERROR,
            _ => arbp_status::ARBP_INVALID_MODEL,
        };
        Failure::new(status, e)
    }
}

/// Run an exported body: a panic is caught (it must never unwind into the host), a failure sets
/// the thread's message, and the status is returned.
pub(crate) fn guard(what: &str, body: impl FnOnce() -> Result<(), Failure>) -> arbp_status {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return arbp_status::ARBP_OK,
        Ok(Err(f)) => f,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Failure::new(arbp_status::ARBP_PANIC, format!("internal error: {detail}"))
        }
    };
    set_last_error(&format!("{what}: {}", failure.message));
    failure.status
}

pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        // A NUL inside would cut the C string short.
        m.extend(message.chars().map(|c| if c == '\0' { ' ' } else { c }));
    });
}

/// `&*p`, or a NULL-pointer failure naming `what`.
///
/// # Safety
/// `p` must be NULL or valid for reads of a `T` for `'a`.
pub(crate) unsafe fn reference<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    if p.is_null() {
        return Err(Failure::new(arbp_status::ARBP_NULL_POINTER, format!("{what} is NULL")));
    }
    if !p.is_aligned() {
        return Err(invalid_argument(format!("{what} is not aligned")));
    }
    // SAFETY: non-NULL and aligned; the caller vouches for validity.
    Ok(unsafe { &*p })
}

/// `&mut *p`, or a NULL-pointer failure naming `what`.
///
/// # Safety
/// `p` must be NULL or valid for reads and writes of a `T` for `'a`, and not aliased.
pub(crate) unsafe fn reference_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    if p.is_null() {
        return Err(Failure::new(arbp_status::ARBP_NULL_POINTER, format!("{what} is NULL")));
    }
    if !p.is_aligned() {
        return Err(invalid_argument(format!("{what} is not aligned")));
    }
    // SAFETY: non-NULL and aligned; the caller vouches for validity and exclusivity.
    Ok(unsafe { &mut *p })
}

/// The `len` values at `p` (NULL allowed when `len` is 0), at most `max` of them.
///
/// # Safety
/// When `len > 0`, `p` must point to `len` readable, initialised `T`s for `'a`.
pub(crate) unsafe fn slice<'a, T>(
    p: *const T,
    len: usize,
    max: usize,
    what: &str,
) -> Result<&'a [T], Failure> {
    if len > max {
        return Err(invalid_argument(format!("{what}: {len} given, at most {max}")));
    }
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::new(
            arbp_status::ARBP_NULL_POINTER,
            format!("{what} is NULL with a count of {len}"),
        ));
    }
    if !p.is_aligned() {
        return Err(invalid_argument(format!("{what} is not aligned")));
    }
    // SAFETY: non-NULL, aligned, `len` elements per the caller.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_its_own_text_and_unknown_values_are_named() {
        let text = |s: i32| unsafe { CStr::from_ptr(arbp_status_str(s)) }.to_str().unwrap().to_string();
        let known: Vec<String> = (0..=10).map(text).collect();
        for (i, t) in known.iter().enumerate() {
            assert!(t.starts_with("ARBP_"), "{t}");
            assert!(!known[..i].contains(t));
        }
        assert_eq!(text(11), "unknown status");
        assert_eq!(text(-1), "unknown status");
        assert_eq!(arbp_status::ARBP_OK as i32, 0);
        assert_eq!(arbp_status::ARBP_PANIC as i32, 10);
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard("arbp_test", || panic!("boom"));
        assert_eq!(status, arbp_status::ARBP_PANIC);
        let mut buf = [0 as c_char; 64];
        let needed = unsafe { arbp_last_error(buf.as_mut_ptr(), buf.len()) };
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(msg, "arbp_test: internal error: boom");
        assert_eq!(needed, msg.len() + 1);
        // A short buffer holds a cut, terminated message and still reports the whole size.
        let mut short = [1 as c_char; 5];
        assert_eq!(unsafe { arbp_last_error(short.as_mut_ptr(), short.len()) }, needed);
        assert_eq!(unsafe { CStr::from_ptr(short.as_ptr()) }.to_str().unwrap(), "arbp");
        assert_eq!(unsafe { arbp_last_error(std::ptr::null_mut(), 0) }, needed);
    }
}

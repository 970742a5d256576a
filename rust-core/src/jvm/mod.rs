//! The JNI layer: `Java_dev_pacer_core_PacerCore_*` entry points over [`crate::Core`].
//!
//! Every entry point goes through [`entry`], which catches panics and maps errors and panics
//! to a Java `dev.pacer.core.PacerNativeException`. No logic lives here: arguments are
//! converted and passed to the core one to one. Handles are `Box<Core>` pointers passed as
//! `long`; the Java side guarantees no call uses a handle while it is being destroyed.

mod exports;
mod slots;

use std::fmt;
use std::sync::Once;

use jni::errors::ErrorPolicy;
use jni::objects::JString;
use jni::strings::JNIString;
use jni::sys::jlong;
use jni::{jni_str, Env, EnvUnowned};

use crate::{ConfigError, Core, CoreError};

/// Why a native call failed; becomes the message of a `PacerNativeException`.
#[derive(Debug)]
pub enum NativeError {
    Jni(jni::errors::Error),
    Config(ConfigError),
    Core(CoreError),
    Invalid(String),
}

impl fmt::Display for NativeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NativeError::Jni(e) => write!(f, "JNI error: {e}"),
            NativeError::Config(e) => write!(f, "invalid Pacer configuration: {e}"),
            NativeError::Core(e) => write!(f, "{e}"),
            NativeError::Invalid(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for NativeError {}

impl From<jni::errors::Error> for NativeError {
    fn from(e: jni::errors::Error) -> Self {
        NativeError::Jni(e)
    }
}

type NativeResult<T> = Result<T, NativeError>;

/// Throws `PacerNativeException` for any error or panic and returns the default value.
struct ThrowPacerException;

impl ThrowPacerException {
    fn throw(env: &mut Env<'_>, message: String) {
        if env.exception_check() {
            return; // a Java exception is already on its way
        }
        let _ = env.throw_new(
            jni_str!("dev/pacer/core/PacerNativeException"),
            JNIString::new(message),
        );
    }
}

impl<T: Default> ErrorPolicy<T, NativeError> for ThrowPacerException {
    type Captures<'unowned_env_local: 'native_method, 'native_method> = &'static str;

    fn on_error<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        method: &mut &'static str,
        err: NativeError,
    ) -> jni::errors::Result<T> {
        Self::throw(env, format!("{method}: {err}"));
        Ok(T::default())
    }

    fn on_panic<'unowned_env_local: 'native_method, 'native_method>(
        env: &mut Env<'unowned_env_local>,
        method: &mut &'static str,
        payload: Box<dyn std::any::Any + Send + 'static>,
    ) -> jni::errors::Result<T> {
        let detail = panic_message(payload);
        Self::throw(env, format!("{method}: native panic: {detail}"));
        Ok(T::default())
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send + 'static>) -> String {
    let message = match payload.downcast::<&'static str>() {
        Ok(s) => return (*s).to_string(),
        Err(payload) => payload.downcast::<String>(),
    };
    match message {
        Ok(s) => *s,
        Err(payload) => {
            // Dropping an arbitrary payload could panic again: leak it instead.
            std::mem::forget(payload);
            "non-string panic payload".to_string()
        }
    }
}

/// The one wrapper every entry point goes through.
fn entry<'local, T: Default>(
    mut env: EnvUnowned<'local>,
    method: &'static str,
    body: impl FnOnce(&mut Env<'local>) -> NativeResult<T>,
) -> T {
    static PANIC_HOOK: Once = Once::new();
    // Panics are reported as exceptions and through the log, never on the JVM's stderr.
    PANIC_HOOK
        .call_once(|| std::panic::set_hook(Box::new(|info| log::warn!("native panic: {info}"))));
    env.with_env(body)
        .resolve_with::<ThrowPacerException, _>(|| method)
}

/// The core behind a handle.
///
/// # Safety contract (upheld by `PacerCore.java`)
/// `handle` is 0 or a pointer returned by `nativeCreate` that has not been destroyed, and no
/// call is running with it while `nativeDestroy` runs.
fn core<'a>(handle: jlong) -> NativeResult<&'a Core> {
    if handle == 0 {
        return Err(NativeError::Invalid("PacerCore is closed".into()));
    }
    Ok(unsafe { &*(handle as *const Core) })
}

/// Reads a non-null Java string argument.
fn string(env: &Env<'_>, value: &JString<'_>, name: &str) -> NativeResult<String> {
    if value.is_null() {
        return Err(NativeError::Invalid(format!("{name} must not be null")));
    }
    Ok(value.mutf8_chars(env)?.to_str().into_owned())
}

/// Runs `f` on the borrowed contents of a non-null Java string, without allocating for ASCII.
fn with_str<R>(
    env: &Env<'_>,
    value: &JString<'_>,
    name: &str,
    f: impl FnOnce(&str) -> R,
) -> NativeResult<R> {
    if value.is_null() {
        return Err(NativeError::Invalid(format!("{name} must not be null")));
    }
    let chars = value.mutf8_chars(env)?;
    Ok(f(&chars.to_str()))
}

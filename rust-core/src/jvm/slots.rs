//! The slots of the two `long[]` arrays of `nativeStageCompleted`, one definition each. The
//! Java side names the same slots in `dev.pacer.core.StageMetricSlots` and `RddTotalSlots`;
//! `nativeNames` returns these names so that `rust-core/tests/jni_core.rs` can check that the
//! two sides agree.

use jni::objects::{JClass, JObjectArray, JString};
use jni::EnvUnowned;

use super::entry;
use super::exports::new_string_array;

/// Declares a module with one `usize` index constant per slot (in order), `NAMES` and `COUNT`.
macro_rules! slots {
    ($(#[$doc:meta])* $module:ident { $($slot:ident),+ $(,)? }) => {
        $(#[$doc])*
        pub(super) mod $module {
            #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
            enum Slot {
                $($slot),+
            }
            $(pub const $slot: usize = Slot::$slot as usize;)+
            /// The slot names in slot order, as the Java constants are named.
            pub const NAMES: &[&str] = &[$(stringify!($slot)),+];
            /// The length of the array.
            pub const COUNT: usize = NAMES.len();
        }
    };
}

slots!(
    /// `metrics`: task metrics summed over the stage's tasks (`StageMetricSlots.java`).
    stage_metric_slots {
        EXECUTOR_RUN_TIME_MS,
        EXECUTOR_CPU_TIME_NS,
        JVM_GC_TIME_MS,
        SHUFFLE_READ_BYTES,
        SHUFFLE_WRITE_BYTES,
        INPUT_BYTES,
        OUTPUT_BYTES,
        DISK_BYTES_SPILLED,
        PEAK_EXECUTION_MEMORY,
    }
);

slots!(
    /// `rdds`: sums over the stage's RDDs (`RddTotalSlots.java`).
    rdd_total_slots {
        NUM_PARTITIONS,
        NUM_CACHED_PARTITIONS,
        MEM_SIZE,
        DISK_SIZE,
    }
);

fn names<'local>(
    env: EnvUnowned<'local>,
    method: &'static str,
    names: &[&str],
) -> JObjectArray<'local, JString<'local>> {
    entry(env, method, |env| {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        new_string_array(env, &names)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_StageMetricSlots_nativeNames<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObjectArray<'local, JString<'local>> {
    names(
        env,
        "StageMetricSlots.nativeNames",
        stage_metric_slots::NAMES,
    )
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_RddTotalSlots_nativeNames<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
) -> JObjectArray<'local, JString<'local>> {
    names(env, "RddTotalSlots.nativeNames", rdd_total_slots::NAMES)
}

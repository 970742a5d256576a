//! The native methods of `dev.pacer.core.PacerCore`, one per core method.

use std::time::Duration;

use jni::objects::{JClass, JIntArray, JLongArray, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, jstring};
use jni::{Env, EnvUnowned};

use super::slots::{rdd_total_slots as rdd, stage_metric_slots as metric};
use super::{core, entry, string, with_str, NativeError, NativeResult};
use crate::{Action, Config, Core, RddTotals, StageCompletion, StageInfo, TaskMetricTotals};

fn int_array(env: &Env<'_>, array: &JIntArray<'_>, name: &str) -> NativeResult<Vec<i32>> {
    if array.is_null() {
        return Err(NativeError::Invalid(format!("{name} must not be null")));
    }
    let mut values = vec![0; array.len(env)?];
    array.get_region(env, 0, &mut values)?;
    Ok(values)
}

fn long_array<const N: usize>(
    env: &Env<'_>,
    array: &JLongArray<'_>,
    name: &str,
) -> NativeResult<[i64; N]> {
    if array.is_null() || array.len(env)? != N {
        return Err(NativeError::Invalid(format!(
            "{name} must hold exactly {N} values"
        )));
    }
    let mut values = [0; N];
    array.get_region(env, 0, &mut values)?;
    Ok(values)
}

fn string_array(
    env: &mut Env<'_>,
    array: &JObjectArray<'_, JString<'_>>,
    name: &str,
) -> NativeResult<Vec<String>> {
    if array.is_null() {
        return Err(NativeError::Invalid(format!("{name} must not be null")));
    }
    let len = array.len(env)?;
    let mut values = Vec::with_capacity(len);
    for i in 0..len {
        let element = array.get_element(env, i)?;
        values.push(string(env, &element, name)?);
        env.delete_local_ref(element);
    }
    Ok(values)
}

pub(super) fn new_string_array<'local>(
    env: &mut Env<'local>,
    values: &[String],
) -> NativeResult<JObjectArray<'local, JString<'local>>> {
    let array = JObjectArray::<JString>::new(env, values.len(), JString::null())?;
    for (i, value) in values.iter().enumerate() {
        let element = JString::from_str(env, value)?;
        array.set_element(env, i, &element)?;
        env.delete_local_ref(element);
    }
    Ok(array)
}

/// Creates a core from parallel key/value arrays (all of SparkConf plus `pacer.runtime.*`).
/// Returns 0 when the configuration disables Pacer (`enabled=false`).
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeCreate<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    keys: JObjectArray<'local, JString<'local>>,
    values: JObjectArray<'local, JString<'local>>,
) -> jlong {
    entry(env, "nativeCreate", |env| {
        let keys = string_array(env, &keys, "keys")?;
        let values = string_array(env, &values, "values")?;
        if keys.len() != values.len() {
            return Err(NativeError::Invalid(
                "keys and values differ in length".into(),
            ));
        }
        let config =
            Config::from_pairs(keys.into_iter().zip(values)).map_err(NativeError::Config)?;
        if !config.enabled {
            return Ok(0);
        }
        let core = Core::new(config).map_err(NativeError::Core)?;
        Ok(Box::into_raw(Box::new(core)) as jlong)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeClose<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    entry(env, "nativeClose", |_| {
        core(handle)?.close();
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeDestroy<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    entry(env, "nativeDestroy", |_| {
        if handle != 0 {
            drop(unsafe { Box::from_raw(handle as *mut Core) });
        }
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeApplicationStart<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    application_id: JString<'local>,
    app_name: JString<'local>,
    time_ms: jlong,
) {
    entry(env, "nativeApplicationStart", |env| {
        let application_id = string(env, &application_id, "applicationId")?;
        let app_name = string(env, &app_name, "appName")?;
        core(handle)?.on_application_start(&application_id, &app_name, time_ms);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeApplicationEnd<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    time_ms: jlong,
) {
    entry(env, "nativeApplicationEnd", |_| {
        core(handle)?.on_application_end(time_ms);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeJobStart<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    job_id: jint,
    time_ms: jlong,
    stage_ids: JIntArray<'local>,
) {
    entry(env, "nativeJobStart", |env| {
        let stage_ids = int_array(env, &stage_ids, "stageIds")?;
        core(handle)?.on_job_start(job_id, time_ms, &stage_ids);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeJobEnd<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    job_id: jint,
    time_ms: jlong,
) {
    entry(env, "nativeJobEnd", |_| {
        core(handle)?.on_job_end(job_id, time_ms);
        Ok(())
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeStageSubmitted<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    stage_id: jint,
    attempt_id: jint,
    name: JString<'local>,
    num_tasks: jint,
    parent_ids: JIntArray<'local>,
    time_ms: jlong,
) {
    entry(env, "nativeStageSubmitted", |env| {
        let name = string(env, &name, "name")?;
        let parent_ids = int_array(env, &parent_ids, "parentIds")?;
        let info = StageInfo {
            stage_id,
            attempt_id,
            name: &name,
            num_tasks,
            parent_ids: &parent_ids,
        };
        core(handle)?.on_stage_submitted(&info, time_ms);
        Ok(())
    })
}

/// `metrics` and `rdds` are indexed by the slots of [`super::slots`].
/// `submission_time_ms` < 0 means unknown; `failure_reason` may be null.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeStageCompleted<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    stage_id: jint,
    attempt_id: jint,
    name: JString<'local>,
    num_tasks: jint,
    parent_ids: JIntArray<'local>,
    submission_time_ms: jlong,
    completion_time_ms: jlong,
    failure_reason: JString<'local>,
    metrics: JLongArray<'local>,
    rdds: JLongArray<'local>,
) {
    entry(env, "nativeStageCompleted", |env| {
        let name = string(env, &name, "name")?;
        let parent_ids = int_array(env, &parent_ids, "parentIds")?;
        let failure_reason = if failure_reason.is_null() {
            None
        } else {
            Some(string(env, &failure_reason, "failureReason")?)
        };
        let m = long_array::<{ metric::COUNT }>(env, &metrics, "metrics")?;
        let r = long_array::<{ rdd::COUNT }>(env, &rdds, "rdds")?;
        let completion = StageCompletion {
            info: StageInfo {
                stage_id,
                attempt_id,
                name: &name,
                num_tasks,
                parent_ids: &parent_ids,
            },
            submission_time_ms: (submission_time_ms >= 0).then_some(submission_time_ms),
            completion_time_ms,
            failure_reason: failure_reason.as_deref(),
            metrics: TaskMetricTotals {
                executor_run_time_ms: m[metric::EXECUTOR_RUN_TIME_MS],
                executor_cpu_time_ns: m[metric::EXECUTOR_CPU_TIME_NS],
                jvm_gc_time_ms: m[metric::JVM_GC_TIME_MS],
                shuffle_read_bytes: m[metric::SHUFFLE_READ_BYTES],
                shuffle_write_bytes: m[metric::SHUFFLE_WRITE_BYTES],
                input_bytes: m[metric::INPUT_BYTES],
                output_bytes: m[metric::OUTPUT_BYTES],
                disk_bytes_spilled: m[metric::DISK_BYTES_SPILLED],
                peak_execution_memory: m[metric::PEAK_EXECUTION_MEMORY],
            },
            rdds: RddTotals {
                num_partitions: r[rdd::NUM_PARTITIONS],
                num_cached_partitions: r[rdd::NUM_CACHED_PARTITIONS],
                mem_size: r[rdd::MEM_SIZE],
                disk_size: r[rdd::DISK_SIZE],
            },
        };
        core(handle)?.on_stage_completed(&completion);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeTaskStart<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    executor_id: JString<'local>,
    time_ms: jlong,
) {
    entry(env, "nativeTaskStart", |env| {
        let core = core(handle)?;
        with_str(env, &executor_id, "executorId", |id| {
            core.on_task_start(id, time_ms)
        })
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeTaskEnd<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    executor_id: JString<'local>,
) {
    entry(env, "nativeTaskEnd", |env| {
        let core = core(handle)?;
        with_str(env, &executor_id, "executorId", |id| core.on_task_end(id))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeExecutorAdded<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    executor_id: JString<'local>,
    host: JString<'local>,
    time_ms: jlong,
    external: jboolean,
) {
    entry(env, "nativeExecutorAdded", |env| {
        let executor_id = string(env, &executor_id, "executorId")?;
        let host = if host.is_null() {
            String::new()
        } else {
            string(env, &host, "host")?
        };
        core(handle)?.on_executor_added(&executor_id, &host, time_ms, external);
        Ok(())
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeExecutorRemoved<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    executor_id: JString<'local>,
    time_ms: jlong,
) {
    entry(env, "nativeExecutorRemoved", |env| {
        let core = core(handle)?;
        with_str(env, &executor_id, "executorId", |id| {
            core.on_executor_removed(id, time_ms)
        })
    })
}

/// Actions encoded as strings, in order: `kill:<executor id>` and `total:<n>`.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeNextActions<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
    timeout_ms: jlong,
) -> JObjectArray<'local, JString<'local>> {
    entry(env, "nativeNextActions", |env| {
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        let mut encoded = Vec::new();
        for action in core(handle)?.next_actions(timeout) {
            match action {
                Action::Kill(ids) => encoded.extend(ids.into_iter().map(|id| format!("kill:{id}"))),
                Action::RequestTotal(n) => encoded.push(format!("total:{n}")),
            }
        }
        new_string_array(env, &encoded)
    })
}

/// Buffered log records as a flat array of (level, target, message) triples.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeDrainLogs<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    max: jint,
) -> JObjectArray<'local, JString<'local>> {
    entry(env, "nativeDrainLogs", |env| {
        let mut flat = Vec::new();
        for record in crate::logging::drain(max.max(0) as usize) {
            flat.push(record.level.to_string());
            flat.push(record.target);
            flat.push(record.message);
        }
        new_string_array(env, &flat)
    })
}

/// The core's counters as a JSON object.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeStats<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jstring {
    entry(env, "nativeStats", |env| {
        let json = serde_json::to_string(&core(handle)?.stats())
            .map_err(|e| NativeError::Invalid(e.to_string()))?;
        Ok(JString::from_str(env, json)?.into_raw())
    })
}

/// A test hook for the error path: mode 1 fails with an error, mode 2 panics, anything else
/// succeeds.
#[unsafe(no_mangle)]
pub extern "system" fn Java_dev_pacer_core_PacerCore_nativeSelfTest<'local>(
    env: EnvUnowned<'local>,
    _class: JClass<'local>,
    mode: jint,
) -> jint {
    entry(env, "nativeSelfTest", |_| match mode {
        1 => Err(NativeError::Invalid("self-test error requested".into())),
        2 => panic!("self-test panic requested"),
        _ => Ok(mode),
    })
}

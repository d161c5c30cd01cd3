//! Metrics objects to JavaScript through their Kubernetes JSON.
//!
//! The core serializes them exactly as the API server does (`serde`, wire-compatible); V8's own
//! `JSON.parse` turns that into plain objects, far faster than building 100,000 objects field by
//! field through N-API. Every object holding a `usage` then gets an enumerable, lazily computed
//! `usageQuantities` property: on first read it parses each usage string with the core parser
//! into a `Quantity` and caches the result as an ordinary data property. Custom and external
//! metric values get `valueQuantity` next to their `value` the same way.

use crate::{Quantity, to_js_error};
use napi::bindgen_prelude::{JsError, Result, ToNapiValue, TypeName, ValueType};
use napi::{Env, Error, Status, check_status, sys};
use serde::Serialize;
use std::ffi::{CStr, c_char};
use std::ptr;

const USAGE_QUANTITIES: &CStr = c"usageQuantities";
const VALUE_QUANTITY: &CStr = c"valueQuantity";

/// A JavaScript value already built in the current scope.
#[derive(Debug, Clone, Copy)]
pub struct RawValue(pub(crate) sys::napi_value);

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// Where the objects holding `usage` are in the parsed JSON.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A `NodeMetrics`: the object itself.
    Node,
    /// A `PodMetrics`: each of its `containers`.
    Pod,
    /// An array of `NodeMetrics`.
    Nodes,
    /// A custom `MetricValue`: the object itself gets `valueQuantity`.
    Value,
    /// An array of custom `MetricValue`s or `ExternalMetricValue`s: each gets `valueQuantity`.
    Values,
}

/// `value` as plain JavaScript objects in the Kubernetes JSON shape, plus `usageQuantities`.
pub fn to_js<T: Serialize>(env: &Env, value: &T, shape: Shape) -> Result<RawValue> {
    let json = serde_json::to_string(value).map_err(|e| Error::new(Status::GenericFailure, format!("cannot encode metrics: {e}")))?;
    let raw = env.raw();
    // SAFETY: called on the JavaScript thread with the live environment of the current callback;
    // every napi_value used below is created in this call's handle scope (or an inner one).
    unsafe {
        let parsed = json_parse(raw, &json)?;
        let usage = || Definer::new(raw, USAGE_QUANTITIES, usage_quantities_getter);
        let value = || Definer::new(raw, VALUE_QUANTITY, value_quantity_getter);
        match shape {
            Shape::Node => usage()?.on(parsed)?,
            Shape::Pod => for_each_container(raw, parsed, &usage()?)?,
            Shape::Nodes => {
                let define = usage()?;
                for_each_element(raw, parsed, |o| define.on(o))?
            }
            Shape::Value => value()?.on(parsed)?,
            Shape::Values => {
                let define = value()?;
                for_each_element(raw, parsed, |o| define.on(o))?
            }
        }
        Ok(RawValue(parsed))
    }
}

/// `Object.defineProperty(o, name, { get, enumerable: true, configurable: true })` with one
/// getter function shared by every object of a conversion.
struct Definer {
    env: sys::napi_env,
    object: sys::napi_value,
    define_property: sys::napi_value,
    name: sys::napi_value,
    descriptor: sys::napi_value,
}

impl Definer {
    unsafe fn new(
        env: sys::napi_env,
        property: &'static CStr,
        get: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
    ) -> Result<Definer> {
        let mut global = ptr::null_mut();
        let mut object = ptr::null_mut();
        let mut define_property = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut getter = ptr::null_mut();
        let mut descriptor = ptr::null_mut();
        let mut yes = ptr::null_mut();
        unsafe {
            check_status!(sys::napi_get_global(env, &mut global))?;
            check_status!(sys::napi_get_named_property(env, global, c"Object".as_ptr(), &mut object))?;
            check_status!(sys::napi_get_named_property(env, object, c"defineProperty".as_ptr(), &mut define_property))?;
            let text = property.to_bytes();
            check_status!(sys::napi_create_string_utf8(env, text.as_ptr().cast::<c_char>(), text.len() as isize, &mut name))?;
            check_status!(sys::napi_create_function(env, property.as_ptr(), text.len() as isize, Some(get), ptr::null_mut(), &mut getter))?;
            check_status!(sys::napi_get_boolean(env, true, &mut yes))?;
            check_status!(sys::napi_create_object(env, &mut descriptor))?;
            check_status!(sys::napi_set_named_property(env, descriptor, c"get".as_ptr(), getter))?;
            check_status!(sys::napi_set_named_property(env, descriptor, c"enumerable".as_ptr(), yes))?;
            check_status!(sys::napi_set_named_property(env, descriptor, c"configurable".as_ptr(), yes))?;
        }
        Ok(Definer { env, object, define_property, name, descriptor })
    }

    /// Defines the lazy accessor on an object (one with `usage`, or with `value`).
    unsafe fn on(&self, target: sys::napi_value) -> Result<()> {
        let args = [target, self.name, self.descriptor];
        let mut result = ptr::null_mut();
        unsafe { check_status!(sys::napi_call_function(self.env, self.object, self.define_property, args.len(), args.as_ptr(), &mut result)) }
    }
}

/// `JSON.parse(text)` of the current realm.
unsafe fn json_parse(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let mut global = ptr::null_mut();
    let mut json = ptr::null_mut();
    let mut parse = ptr::null_mut();
    let mut string = ptr::null_mut();
    let mut result = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_global(env, &mut global))?;
        check_status!(sys::napi_get_named_property(env, global, c"JSON".as_ptr(), &mut json))?;
        check_status!(sys::napi_get_named_property(env, json, c"parse".as_ptr(), &mut parse))?;
        check_status!(sys::napi_create_string_utf8(env, text.as_ptr().cast::<c_char>(), text.len() as isize, &mut string))?;
        check_status!(sys::napi_call_function(env, json, parse, 1, &string, &mut result))?;
    }
    Ok(result)
}

/// Calls `f` on each element of `array`, one handle scope per element.
unsafe fn for_each_element(env: sys::napi_env, array: sys::napi_value, f: impl Fn(sys::napi_value) -> Result<()>) -> Result<()> {
    let mut len = 0u32;
    unsafe { check_status!(sys::napi_get_array_length(env, array, &mut len))? };
    for i in 0..len {
        let mut scope = ptr::null_mut();
        unsafe { check_status!(sys::napi_open_handle_scope(env, &mut scope))? };
        let mut element = ptr::null_mut();
        let done = unsafe { check_status!(sys::napi_get_element(env, array, i, &mut element)) }.and_then(|_| f(element));
        let closed = unsafe { check_status!(sys::napi_close_handle_scope(env, scope)) };
        done?;
        closed?;
    }
    Ok(())
}

/// Defines `usageQuantities` on each of a pod's `containers`.
unsafe fn for_each_container(env: sys::napi_env, pod: sys::napi_value, define: &Definer) -> Result<()> {
    let mut containers = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_named_property(env, pod, c"containers".as_ptr(), &mut containers))?;
        for_each_element(env, containers, |c| define.on(c))
    }
}

fn data_descriptor(property: &'static CStr, value: sys::napi_value, attributes: sys::napi_property_attributes) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name: property.as_ptr(),
        name: ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value,
        attributes,
        data: ptr::null_mut(),
    }
}

unsafe extern "C" fn usage_quantities_getter(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: napi calls this getter on the JavaScript thread.
    unsafe { throwing(env, info, usage_quantities) }
}

/// Runs the body `f` of a native callback; an error is thrown into JavaScript.
pub(crate) unsafe fn throwing(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: unsafe fn(sys::napi_env, sys::napi_callback_info) -> Result<sys::napi_value>,
) -> sys::napi_value {
    match unsafe { f(env, info) } {
        Ok(value) => value,
        Err(e) => {
            // SAFETY: we are inside a napi callback on the JavaScript thread.
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

/// `new Quantity(text)` for the JavaScript string `text`; `ERR_KM_QUANTITY` when it is not one.
pub(crate) unsafe fn quantity_of(env: sys::napi_env, text: sys::napi_value) -> Result<sys::napi_value> {
    unsafe {
        let text = <String as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env, text)?;
        let quantity = kubemetrics::Quantity::parse(&text).map_err(|e| to_js_error(&Env::from_raw(env), &e))?;
        <Quantity as ToNapiValue>::to_napi_value(env, Quantity::from(quantity))
    }
}

/// `{ [resource]: new Quantity(this.usage[resource]) }`, cached on `this` as a data property.
unsafe fn usage_quantities(env: sys::napi_env, info: sys::napi_callback_info) -> Result<sys::napi_value> {
    let mut this = ptr::null_mut();
    let mut argc = 0usize;
    let mut usage = ptr::null_mut();
    let mut keys = ptr::null_mut();
    let mut len = 0u32;
    let mut result = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), &mut this, ptr::null_mut()))?;
        check_status!(sys::napi_get_named_property(env, this, c"usage".as_ptr(), &mut usage))?;
        check_status!(sys::napi_get_property_names(env, usage, &mut keys))?;
        check_status!(sys::napi_get_array_length(env, keys, &mut len))?;
        check_status!(sys::napi_create_object(env, &mut result))?;
        for i in 0..len {
            let mut key = ptr::null_mut();
            let mut text = ptr::null_mut();
            check_status!(sys::napi_get_element(env, keys, i, &mut key))?;
            check_status!(sys::napi_get_property(env, usage, key, &mut text))?;
            let value = quantity_of(env, text)?;
            check_status!(sys::napi_set_property(env, result, key, value))?;
        }
        cache(env, this, USAGE_QUANTITIES, result)?;
    }
    Ok(result)
}

/// Replaces the accessor `property` of `this` by an ordinary data property holding `value`.
unsafe fn cache(env: sys::napi_env, this: sys::napi_value, property: &'static CStr, value: sys::napi_value) -> Result<()> {
    let cached =
        data_descriptor(property, value, sys::PropertyAttributes::enumerable | sys::PropertyAttributes::configurable | sys::PropertyAttributes::writable);
    unsafe { check_status!(sys::napi_define_properties(env, this, 1, &cached)) }
}

unsafe extern "C" fn value_quantity_getter(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: napi calls this getter on the JavaScript thread.
    unsafe { throwing(env, info, value_quantity) }
}

/// `new Quantity(this.value)`, cached on `this` as a data property.
unsafe fn value_quantity(env: sys::napi_env, info: sys::napi_callback_info) -> Result<sys::napi_value> {
    let mut this = ptr::null_mut();
    let mut argc = 0usize;
    let mut text = ptr::null_mut();
    unsafe {
        check_status!(sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), &mut this, ptr::null_mut()))?;
        check_status!(sys::napi_get_named_property(env, this, c"value".as_ptr(), &mut text))?;
        let result = quantity_of(env, text)?;
        cache(env, this, VALUE_QUANTITY, result)?;
        Ok(result)
    }
}

//! Metrics objects to JavaScript through their Kubernetes JSON.
//!
//! The core serializes them exactly as the API server does (`serde`, wire-compatible); V8's own
//! `JSON.parse` turns that into plain objects, far faster than building 100,000 objects field by
//! field through N-API. Every object holding a `usage` then gets an enumerable, lazily computed
//! `usageQuantities` property: on first read it parses each usage string with the core parser
//! into a `Quantity` and caches the result as an ordinary data property. Custom and external
//! metric values get `valueQuantity` next to their `value` the same way.

use crate::raw::{Callback, JsText, call, call_method, function, global, named, out, scoped, set, this_and_arg, throwing};
use crate::{Quantity, to_js_error};
use napi::bindgen_prelude::{Result, ToNapiValue, TypeName, ValueType};
use napi::{Env, Error, Status, check_status, sys};
use serde::Serialize;
use std::ffi::CStr;
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
    unsafe fn new(env: sys::napi_env, property: &'static CStr, get: Callback) -> Result<Definer> {
        unsafe {
            let object = global(env, c"Object")?;
            let define_property = named(env, object, c"defineProperty")?;
            let name = JsText::to_napi_value(env, JsText(property.to_str().unwrap_or_default()))?;
            let descriptor = out!(napi_create_object(env))?;
            set(env, descriptor, c"get", RawValue(function(env, property, get)?))?;
            set(env, descriptor, c"enumerable", true)?;
            set(env, descriptor, c"configurable", true)?;
            Ok(Definer { env, object, define_property, name, descriptor })
        }
    }

    /// Defines the lazy accessor on an object (one with `usage`, or with `value`).
    unsafe fn on(&self, target: sys::napi_value) -> Result<()> {
        unsafe { call(self.env, self.object, self.define_property, &[target, self.name, self.descriptor]).map(drop) }
    }
}

/// `JSON.parse(text)` of the current realm.
unsafe fn json_parse(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    unsafe {
        let text = JsText::to_napi_value(env, JsText(text))?;
        call_method(env, global(env, c"JSON")?, c"parse", &[text])
    }
}

/// Calls `f` on each element of `array`, one handle scope per element.
unsafe fn for_each_element(env: sys::napi_env, array: sys::napi_value, f: impl Fn(sys::napi_value) -> Result<()>) -> Result<()> {
    let len = unsafe { out!(napi_get_array_length(env, array) from 0u32)? };
    for i in 0..len {
        unsafe { scoped(env, || f(out!(napi_get_element(env, array, i))?))? };
    }
    Ok(())
}

/// Defines `usageQuantities` on each of a pod's `containers`.
unsafe fn for_each_container(env: sys::napi_env, pod: sys::napi_value, define: &Definer) -> Result<()> {
    unsafe { for_each_element(env, named(env, pod, c"containers")?, |c| define.on(c)) }
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
    unsafe {
        let this = this_and_arg(env, info)?.0;
        let usage = named(env, this, c"usage")?;
        let keys = out!(napi_get_property_names(env, usage))?;
        let result = out!(napi_create_object(env))?;
        for i in 0..out!(napi_get_array_length(env, keys) from 0u32)? {
            let key = out!(napi_get_element(env, keys, i))?;
            let value = quantity_of(env, out!(napi_get_property(env, usage, key))?)?;
            check_status!(sys::napi_set_property(env, result, key, value))?;
        }
        cache(env, this, USAGE_QUANTITIES, result)?;
        Ok(result)
    }
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
    unsafe {
        let this = this_and_arg(env, info)?.0;
        let result = quantity_of(env, named(env, this, c"value")?)?;
        cache(env, this, VALUE_QUANTITY, result)?;
        Ok(result)
    }
}

// sightline native addon: mask → polygon routines for the segmentation heads.
//
// This file only translates between JavaScript values and the N-API-free core (polygon_core.h).
// It keeps no global state, so the module loads in any number of worker threads.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "polygon_core.h"

namespace {

using sightline::ElementType;
using sightline::InputError;
using sightline::InputKind;
using sightline::PackedRegions;
using sightline::PolygonOptions;
using sightline::PolygonRequest;

// Reports the addon's build identity so the server can say which polygon implementation is in use.
Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), "sightline-native/1");
}

[[noreturn]] void throwTypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

[[noreturn]] void throwRangeError(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

double readDimension(Napi::Env env, const Napi::Object& input, const char* name) {
  const Napi::Value value = input.Get(name);
  const std::string field = std::string("input.") + name;
  if (!value.IsNumber()) throwTypeError(env, field + " must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 1 && v <= sightline::kMaxSide && std::floor(v) == v)) {
    throwRangeError(env, field + " must be an integer from 1 to 1048576");
  }
  return v;
}

// undefined means "not set"; anything else must be a finite number >= 0.
bool readNonNegative(Napi::Env env, const Napi::Object& options, const char* name, double& out) {
  const Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return false;
  const std::string field = std::string("options.") + name;
  if (!value.IsNumber()) throwTypeError(env, field + " must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(std::isfinite(v) && v >= 0)) throwRangeError(env, field + " must be a finite number >= 0");
  out = v;
  return true;
}

PolygonOptions readOptions(Napi::Env env, const Napi::Value& value) {
  PolygonOptions options;
  if (value.IsUndefined()) return options;
  if (!value.IsObject() || value.IsNull()) throwTypeError(env, "options must be an object");
  const Napi::Object object = value.As<Napi::Object>();
  const bool hasEpsilon = readNonNegative(env, object, "epsilon", options.epsilon);
  const bool hasRatio = readNonNegative(env, object, "epsilonRatio", options.epsilonRatio);
  if (hasEpsilon && hasRatio) {
    throwTypeError(env, "options.epsilon and options.epsilonRatio cannot both be set");
  }
  readNonNegative(env, object, "minArea", options.minArea);
  const Napi::Value maxPolygons = object.Get("maxPolygons");
  if (!maxPolygons.IsUndefined()) {
    if (!maxPolygons.IsNumber()) throwTypeError(env, "options.maxPolygons must be a number");
    const double v = maxPolygons.As<Napi::Number>().DoubleValue();
    if (!(v >= 1 && v <= 2147483647 && std::floor(v) == v)) {
      throwRangeError(env, "options.maxPolygons must be an integer from 1 to 2147483647");
    }
    options.maxPolygons = static_cast<int64_t>(v);
  }
  readNonNegative(env, object, "unclipRatio", options.unclipRatio);
  return options;
}

// Validates the call's arguments and describes the work. dataObject receives the typed array so
// an asynchronous caller can keep it alive.
PolygonRequest readRequest(const Napi::CallbackInfo& info, Napi::Object& dataObject) {
  Napi::Env env = info.Env();
  const Napi::Value inputValue = info[0];
  if (!inputValue.IsObject() || inputValue.IsNull()) throwTypeError(env, "input must be an object");
  const Napi::Object input = inputValue.As<Napi::Object>();

  PolygonRequest request;
  const Napi::Value kindValue = input.Get("kind");
  const std::string kind = kindValue.IsString() ? kindValue.As<Napi::String>().Utf8Value() : "";
  if (kind == "mask") {
    request.kind = InputKind::Mask;
  } else if (kind == "probability") {
    request.kind = InputKind::Probability;
  } else if (kind == "labels") {
    request.kind = InputKind::Labels;
  } else {
    throwTypeError(env, "input.kind must be 'mask', 'probability' or 'labels'");
  }

  const Napi::Value data = input.Get("data");
  napi_typedarray_type arrayType = napi_int8_array;
  if (data.IsTypedArray()) arrayType = data.As<Napi::TypedArray>().TypedArrayType();
  const bool isTyped = data.IsTypedArray();
  switch (request.kind) {
    case InputKind::Mask:
      if (!isTyped || arrayType != napi_uint8_array) {
        throwTypeError(env, "input.data must be a Uint8Array for kind 'mask'");
      }
      request.type = ElementType::U8;
      break;
    case InputKind::Probability:
      if (!isTyped || arrayType != napi_float32_array) {
        throwTypeError(env, "input.data must be a Float32Array for kind 'probability'");
      }
      request.type = ElementType::F32;
      break;
    case InputKind::Labels:
      if (!isTyped || (arrayType != napi_uint8_array && arrayType != napi_int32_array)) {
        throwTypeError(env, "input.data must be a Uint8Array or Int32Array for kind 'labels'");
      }
      request.type = arrayType == napi_uint8_array ? ElementType::U8 : ElementType::I32;
      break;
  }

  const double width = readDimension(env, input, "width");
  const double height = readDimension(env, input, "height");
  if (width * height > sightline::kMaxPixels) {
    throwRangeError(env, "input.width * input.height exceeds the limit of 268435456 pixels");
  }
  request.width = static_cast<size_t>(width);
  request.height = static_cast<size_t>(height);

  size_t length = 0;
  void* pointer = nullptr;
  napi_status status =
      napi_get_typedarray_info(env, data, nullptr, &length, &pointer, nullptr, nullptr);
  NAPI_THROW_IF_FAILED(env, status, PolygonRequest());
  if (length != request.width * request.height) {
    throwRangeError(env, "input.data has length " + std::to_string(length) +
                             " but input.width * input.height is " +
                             std::to_string(request.width * request.height));
  }
  request.data = pointer;
  dataObject = data.As<Napi::Object>();

  if (request.kind == InputKind::Probability) {
    const Napi::Value threshold = input.Get("threshold");
    if (!threshold.IsUndefined()) {
      if (!threshold.IsNumber()) throwTypeError(env, "input.threshold must be a number");
      const double v = threshold.As<Napi::Number>().DoubleValue();
      if (!(v >= 0 && v <= 1)) throwRangeError(env, "input.threshold must be a finite number from 0 to 1");
      request.threshold = v;
    }
  }
  if (request.kind == InputKind::Labels) {
    const Napi::Value background = input.Get("background");
    if (!background.IsUndefined()) {
      if (!background.IsNumber()) throwTypeError(env, "input.background must be a number");
      const double v = background.As<Napi::Number>().DoubleValue();
      if (!(v >= -2147483648.0 && v <= 2147483647.0 && std::floor(v) == v)) {
        throwRangeError(env, "input.background must be an integer from -2147483648 to 2147483647");
      }
      request.background = static_cast<int32_t>(v);
    }
  }

  request.options = readOptions(env, info[1]);
  return request;
}

template <typename ArrayType, typename T>
ArrayType copyToTypedArray(Napi::Env env, const std::vector<T>& values) {
  ArrayType array = ArrayType::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(T));
  return array;
}

Napi::Object toJs(Napi::Env env, const PackedRegions& packed) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("coords", copyToTypedArray<Napi::Float64Array>(env, packed.coords));
  result.Set("rings", copyToTypedArray<Napi::Uint32Array>(env, packed.rings));
  result.Set("regions", copyToTypedArray<Napi::Float64Array>(env, packed.regions));
  result.Set("scored", Napi::Boolean::New(env, packed.scored));
  return result;
}

constexpr const char* kOutOfMemory = "not enough memory to find polygons";

// Any C++ exception other than Napi::Error escaping a callback would terminate the process, so
// every entry point converts them to JavaScript errors.
Napi::Value FindPolygons(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    Napi::Object dataObject;
    const PolygonRequest request = readRequest(info, dataObject);
    return toJs(env, sightline::findPolygons(request));
  } catch (const Napi::Error&) {
    throw;
  } catch (const InputError& e) {
    if (e.kind() == InputError::Kind::Type) throwTypeError(env, e.what());
    throwRangeError(env, e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, kOutOfMemory);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// Runs the core on a libuv pool thread. The main thread only validates arguments and takes a
// reference to the input array (no copy), so a call returns in microseconds whatever the size.
// The reference keeps the array's buffer alive until the promise settles; callers must not
// transfer or detach that buffer meanwhile.
class PolygonWorker : public Napi::AsyncWorker {
 public:
  PolygonWorker(Napi::Env env, const PolygonRequest& request, const Napi::Object& data)
      : Napi::AsyncWorker(env, "sightline.findPolygons"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(request),
        data_(Napi::Persistent(data)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      result_ = sightline::findPolygons(request_);
    } catch (const InputError& e) {
      failure_ = e.kind() == InputError::Kind::Type ? Failure::Type : Failure::Range;
      message_ = e.what();
    } catch (const std::bad_alloc&) {
      failure_ = Failure::Other;
      message_ = kOutOfMemory;
    } catch (const std::exception& e) {
      failure_ = Failure::Other;
      message_ = e.what();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    switch (failure_) {
      case Failure::None:
        deferred_.Resolve(toJs(env, result_));
        return;
      case Failure::Type:
        deferred_.Reject(Napi::TypeError::New(env, message_).Value());
        return;
      case Failure::Range:
        deferred_.Reject(Napi::RangeError::New(env, message_).Value());
        return;
      case Failure::Other:
        deferred_.Reject(Napi::Error::New(env, message_).Value());
        return;
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  enum class Failure { None, Type, Range, Other };

  Napi::Promise::Deferred deferred_;
  PolygonRequest request_;
  Napi::ObjectReference data_;
  PackedRegions result_;
  Failure failure_ = Failure::None;
  std::string message_;
};

Napi::Value FindPolygonsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Argument errors reject the promise rather than throwing, like any other failure.
  auto rejected = [&env](const Napi::Value& error) {
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(error);
    return deferred.Promise();
  };
  try {
    Napi::Object dataObject;
    const PolygonRequest request = readRequest(info, dataObject);
    PolygonWorker* worker = new PolygonWorker(env, request, dataObject);
    Napi::Promise promise = worker->promise();
    worker->Queue();  // the worker deletes itself once settled
    return promise;
  } catch (const Napi::Error& e) {
    return rejected(e.Value());
  } catch (const std::bad_alloc&) {
    return rejected(Napi::Error::New(env, kOutOfMemory).Value());
  } catch (const std::exception& e) {
    return rejected(Napi::Error::New(env, e.what()).Value());
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("findPolygons", Napi::Function::New(env, FindPolygons, "findPolygons"));
  exports.Set("findPolygonsAsync", Napi::Function::New(env, FindPolygonsAsync, "findPolygonsAsync"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sightline_native, Init)

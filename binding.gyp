{
  "targets": [
    {
      "target_name": "sightline_native",
      "sources": [
        "native/addon.cc",
        "native/border_tracer.cc",
        "native/contour_extraction.cc",
        "native/polygon_core.cc",
        "native/region_assembly.cc",
        "native/ring_offset.cc",
        "native/ring_simplify.cc",
        "native/run_components.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # No fused multiply-add: results must match the TypeScript implementation bit for bit.
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      }
    }
  ]
}

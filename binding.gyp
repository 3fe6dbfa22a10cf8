# node-gyp build of the same addon CMakeLists.txt builds: same source list
# (native/sources.txt) and same libtorch discovery (scripts/libtorch.mjs, which resolves
# libtorch's flags through CMake's own find_package(Torch)).
{
  "targets": [
    {
      "target_name": "edict",
      "sources": ["<!@(node scripts/native-sources.mjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs gyp include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "<!@(node scripts/libtorch.mjs gyp defines)"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions",
        "-frtti",
        "-O2",
        "<!@(node scripts/libtorch.mjs gyp cflags)"
      ],
      "libraries": ["<!@(node scripts/libtorch.mjs gyp libraries)", "-ldl"],
      "ldflags": ["-Wl,--disable-new-dtags"]
    }
  ]
}

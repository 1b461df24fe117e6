{
  "targets": [
    {
      "target_name": "node_gnutls",
      "sources": [
        "src-native/addon.cc",
        "src-native/context.cc",
        "src-native/context-keys.cc",
        "src-native/record-queue.cc",
        "src-native/session.cc",
        "src-native/session-io.cc",
        "src-native/session-fd.cc",
        "src-native/session-extras.cc",
        "src-native/session-info.cc",
        "src-native/session-common.cc",
        "src-native/dtls-session.cc",
        "src-native/dtls-extras.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "<!@(pkg-config --cflags gnutls)"],
      "cflags": ["<!@(pkg-config --cflags gnutls)"],
      "libraries": ["<!@(pkg-config --libs gnutls)"]
    }
  ]
}

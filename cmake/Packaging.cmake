# Debian packages through CPack: from a build directory, `cpack -G DEB` writes
#   libmproc0_<version>_<arch>.deb     the shared library (install component `runtime`)
#   libmproc-dev_<version>_<arch>.deb  headers, libmproc.so, CMake and pkg-config files
#                                      (component `development`), depending on libmproc0 of the
#                                      same version
# installable with `apt install ./libmproc0_*.deb ./libmproc-dev_*.deb`. The runtime package's
# dependencies (libspdlog1.10, libfmt9, libstdc++6, libc6) are computed by dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME mproc)
set(CPACK_PACKAGE_VENDOR "mproc")
set(CPACK_PACKAGE_CONTACT "mproc maintainers <mproc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # as Debian ships libraries: debug information is not in the package
set(CPACK_COMPONENTS_ALL runtime development)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libmproc${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libmproc-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
    "libmproc${PROJECT_VERSION_MAJOR} (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "Python's multiprocessing, natively: the shared library (C ABI and C++ API)")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "Python's multiprocessing, natively: headers, CMake package and pkg-config file")
include(CPack)

# `cpack -G DEB` in a build directory: one Debian package, uptls, with the
# library, its headers, the CMake package, uptls.pc and the uptls command.

set(CPACK_PACKAGE_NAME uptls)
set(CPACK_PACKAGE_VENDOR "uptls")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(UPTLS_PACKAGE_CONTACT "uptls developers <uptls@invalid>"
    CACHE STRING "Maintainer named in the Debian package")
set(CPACK_PACKAGE_CONTACT "${UPTLS_PACKAGE_CONTACT}")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "The uptls C++20 library (headers, CMake package, pkg-config file) and the uptls command.")
# What the headers, uptlsConfig.cmake and uptls.pc need at build time; the
# run-time libraries (libssl3, libstdc++6, ...) come from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libssl-dev (>= 3.0), libasio-dev (>= 1.22)")
find_program(UPTLS_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(UPTLS_DPKG_SHLIBDEPS)
if(UPTLS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libssl3 (>= 3.0)")
endif()

include(CPack)

# `cpack -G DEB` in a build directory: Debian packages as Debian splits a
# library. From a shared build (-DBUILD_SHARED_LIBS=ON), three:
#   uptls         the command (linked with the static archive: it depends
#                 on libssl3, not on libuptls0)
#   libuptls0     the shared library, libuptls.so.0
#   libuptls-dev  headers, libuptls.so, libuptls.a, the CMake package, uptls.pc
# From a static build, uptls and libuptls-dev. Configure with
# -DCMAKE_INSTALL_PREFIX=/usr for Debian's multiarch library directory
# (/usr/lib/x86_64-linux-gnu): GNUInstallDirs chooses it for that prefix.

set(CPACK_PACKAGE_NAME uptls)
set(CPACK_PACKAGE_VENDOR "uptls")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(UPTLS_PACKAGE_CONTACT "uptls developers <uptls@invalid>"
    CACHE STRING "Maintainer named in the Debian package")
set(CPACK_PACKAGE_CONTACT "${UPTLS_PACKAGE_CONTACT}")
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "cpack: packages install under ${CMAKE_INSTALL_PREFIX} "
                 "(-DCMAKE_INSTALL_PREFIX=/usr for Debian's layout)")
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_COMPONENTS_ALL command development)
if(BUILD_SHARED_LIBS)
  list(APPEND CPACK_COMPONENTS_ALL runtime)
endif()

set(CPACK_DEBIAN_COMMAND_PACKAGE_NAME uptls)
set(CPACK_DEBIAN_COMMAND_PACKAGE_SECTION net)
set(CPACK_COMPONENT_COMMAND_DESCRIPTION
    "STARTTLS for 14 protocols in both roles, inspect, check, an intercepting proxy\n"
    "The uptls command: servers and clients that start in plaintext and upgrade to TLS in "
    "place, an inspector, a certificate checker and an HTTPS proxy.")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "libuptls${PROJECT_VERSION_MAJOR}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "C++20 library for TCP streams upgraded to TLS in place (STARTTLS)\n"
    "The shared library of uptls, over Asio and OpenSSL 3.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libuptls-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "C++20 library for TCP streams upgraded to TLS in place (development files)\n"
    "Headers, the static library, the CMake package (find_package(uptls)) and uptls.pc.")
# What the headers, uptlsConfig.cmake and uptls.pc need at build time.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "libssl-dev (>= 3.0), libasio-dev (>= 1.22)")
if(BUILD_SHARED_LIBS)
  # libuptls0 (= version), from the component dependency.
  set(CPACK_COMPONENT_DEVELOPMENT_DEPENDS runtime)
endif()

# The run-time libraries (libssl3, libstdc++6, ...) come from dpkg-shlibdeps.
find_program(UPTLS_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced(UPTLS_DPKG_SHLIBDEPS)
if(UPTLS_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_COMMAND_PACKAGE_DEPENDS "libssl3 (>= 3.0)")
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libssl3 (>= 3.0)")
endif()

include(CPack)

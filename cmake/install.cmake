# Installs the library, its headers, the uptls command, a CMake package
# (find_package(uptls CONFIG)) and a pkg-config file (uptls.pc).

include(CMakePackageConfigHelpers)

# Follows the library directory unless set (GNUInstallDirs changes that one
# when the prefix becomes /usr: Debian's multiarch directory).
set(UPTLS_INSTALL_CMAKEDIR "" CACHE STRING
    "Where uptlsConfig.cmake is installed, relative to the prefix (empty: LIBDIR/cmake/uptls)")
set(uptls_cmake_dir "${UPTLS_INSTALL_CMAKEDIR}")
if(NOT uptls_cmake_dir)
  set(uptls_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/uptls)
endif()

# Three parts, as Debian packages a library (cmake/packaging.cmake): the
# command (component command), the shared library (runtime), and what
# building against it takes (development: headers, the link-time .so name,
# the static archive, the CMake package, uptls.pc).
install(TARGETS uptls
  EXPORT uptlsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
          NAMELINK_COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
if(TARGET uptls_static)
  install(TARGETS uptls_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
endif()
install(DIRECTORY include/uptls ${PROJECT_BINARY_DIR}/include/uptls
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT development
  FILES_MATCHING PATTERN "*.hpp")
if(TARGET uptls_cli)
  install(TARGETS uptls_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT command)
endif()

install(EXPORT uptlsTargets
  NAMESPACE uptls::
  DESTINATION ${uptls_cmake_dir}
  COMPONENT development)
configure_package_config_file(cmake/uptlsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/uptlsConfig.cmake
  INSTALL_DESTINATION ${uptls_cmake_dir})
# Same major version, as the shared library's SOVERSION says.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/uptlsConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/uptlsConfig.cmake ${PROJECT_BINARY_DIR}/uptlsConfigVersion.cmake
  DESTINATION ${uptls_cmake_dir}
  COMPONENT development)

# pkg-config: paths relative to the file's own place (${pcfiledir}), so the
# installed tree may be moved (cmake --install --prefix, DESTDIR, packages).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(UPTLS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(UPTLS_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH uptls_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
  string(REGEX REPLACE "/$" "" uptls_pc_to_prefix "${uptls_pc_to_prefix}")
  set(UPTLS_PC_PREFIX "\${pcfiledir}/${uptls_pc_to_prefix}")
  set(UPTLS_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(UPTLS_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(UPTLS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Asio's headers: a -I only when they are not where the compiler looks anyway.
set(UPTLS_PC_ASIO_CFLAGS "")
if(NOT ASIO_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
  set(UPTLS_PC_ASIO_CFLAGS " -I${ASIO_INCLUDE_DIR}")
endif()
# OpenSSL is the user's to link only when libuptls is an archive: then
# `pkg-config --libs uptls` names it (Requires); a shared libuptls brings its
# own (Requires.private, for `pkg-config --static`).
if(BUILD_SHARED_LIBS)
  set(UPTLS_PC_REQUIRES "Requires.private")
else()
  set(UPTLS_PC_REQUIRES "Requires")
endif()
set(UPTLS_PC_DEFINES "")
if(UPTLS_HAVE_ALIGNED_ALLOC)
  set(UPTLS_PC_DEFINES " -DASIO_HAS_STD_ALIGNED_ALLOC=1")
endif()
configure_file(cmake/uptls.pc.in ${PROJECT_BINARY_DIR}/uptls.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/uptls.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)

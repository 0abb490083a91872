# Installs the library, its headers, the uptls command, a CMake package
# (find_package(uptls CONFIG)) and a pkg-config file (uptls.pc).

include(CMakePackageConfigHelpers)

set(UPTLS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/uptls
    CACHE STRING "Where uptlsConfig.cmake is installed, relative to the prefix")

install(TARGETS uptls
  EXPORT uptlsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/uptls ${PROJECT_BINARY_DIR}/include/uptls
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
if(TARGET uptls_cli)
  install(TARGETS uptls_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT uptlsTargets
  NAMESPACE uptls::
  DESTINATION ${UPTLS_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/uptlsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/uptlsConfig.cmake
  INSTALL_DESTINATION ${UPTLS_INSTALL_CMAKEDIR})
# Same major version, as the shared library's SOVERSION says.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/uptlsConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/uptlsConfig.cmake ${PROJECT_BINARY_DIR}/uptlsConfigVersion.cmake
  DESTINATION ${UPTLS_INSTALL_CMAKEDIR})

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
configure_file(cmake/uptls.pc.in ${PROJECT_BINARY_DIR}/uptls.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/uptls.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# cmake --install: libautorec_infer (shared, static, and the CUDA plugin when built), the public headers, the
# CMake package (autorec::infer, autorec::infer-static), autorec.pc, and the command-line tools.
include(CMakePackageConfigHelpers)
set(_autorec_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/autorec)

# Only what a host includes: container.hpp (the file layout) serves the tools and stays in the tree. None of
# these includes Eigen, FlatBuffers or zstd (tests/package checks the installed copies).
install(FILES
  ${PROJECT_SOURCE_DIR}/infer/include/autorec/autorec.h
  ${PROJECT_SOURCE_DIR}/infer/include/autorec/model.hpp
  ${PROJECT_SOURCE_DIR}/infer/include/autorec/error.hpp
  ${PROJECT_SOURCE_DIR}/infer/include/autorec/dtype.hpp
  ${PROJECT_SOURCE_DIR}/infer/include/autorec/math.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/autorec)

install(TARGETS autorec-infer EXPORT autorecTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS autorec-infer-static EXPORT autorecStaticTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Next to libautorec_infer.so, where the library looks for it (infer/src/backend.cpp).
if(TARGET autorec-infer-cuda)
  install(TARGETS autorec-infer-cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

install(EXPORT autorecTargets NAMESPACE autorec:: DESTINATION ${_autorec_cmakedir})
install(EXPORT autorecStaticTargets NAMESPACE autorec:: DESTINATION ${_autorec_cmakedir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/autorecConfig.cmake.in
  ${PROJECT_BINARY_DIR}/autorecConfig.cmake INSTALL_DESTINATION ${_autorec_cmakedir})
# The shared library's SONAME changes with the major version; so does what a package of this version serves.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/autorecConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/autorecConfig.cmake ${PROJECT_BINARY_DIR}/autorecConfigVersion.cmake
  DESTINATION ${_autorec_cmakedir})

# autorec.pc names its directories relative to itself (${pcfiledir}), so an install made with
# `cmake --install --prefix` or moved afterwards stays right; absolute directories are written as given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(AUTOREC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AUTOREC_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(AUTOREC_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _autorec_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _autorec_up "${_autorec_up}")
  set(AUTOREC_PC_PREFIX "\${pcfiledir}/${_autorec_up}")
  set(AUTOREC_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(AUTOREC_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/autorec.pc.in ${PROJECT_BINARY_DIR}/autorec.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/autorec.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(AUTOREC_BUILD_TOOLS)
  set(_autorec_tools autorec-train autorec-verify autorec-inspect autorec-synth autorec-split autorec-bench
    autorec-convert autorec-recommend)
  # The tools link libautorec_infer statically; the run path lets them dlopen the CUDA plugin by name from
  # the install's library folder.
  set_target_properties(${_autorec_tools} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
  install(TARGETS ${_autorec_tools} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(PROGRAMS ${PROJECT_SOURCE_DIR}/tools/tune/autorec-tune DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

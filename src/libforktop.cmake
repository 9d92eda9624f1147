# libforktop: the engine people install (core + mp), as libforktop.so (soname
# from the project's major version) and libforktop.a, with its header under
# include/forktop/, forktop.pc for pkg-config and a CMake package
# (find_package(forktop) gives forktop::forktop).  The workload language, the
# model and the dashboard are the program's, not the library's.
#
# Its objects are compiled apart from the program's static rooms: position
# independent, internal symbols hidden by a version script (only ft_* without
# a second underscore is exported), while the program keeps its non-PIC build.
set(FT_LIB_SOURCES ${FT_CORE_SOURCES} ${FT_MP_SOURCES})
set(FT_LIB_TARGETS forktop_static)

add_library(forktop_static STATIC ${FT_LIB_SOURCES})
set_target_properties(forktop_static PROPERTIES OUTPUT_NAME forktop EXPORT_NAME forktop_static
                                                POSITION_INDEPENDENT_CODE ON)
if(FT_BUILD_SHARED)
  add_library(forktop_shared SHARED ${FT_LIB_SOURCES})
  set_target_properties(forktop_shared PROPERTIES OUTPUT_NAME forktop EXPORT_NAME forktop
                        VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
                        LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/libforktop.map)
  target_link_options(forktop_shared PRIVATE -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/libforktop.map)
  list(APPEND FT_LIB_TARGETS forktop_shared)
else()
  set_target_properties(forktop_static PROPERTIES EXPORT_NAME forktop)
endif()
foreach(t ${FT_LIB_TARGETS})
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/src/core ${CMAKE_SOURCE_DIR}/src/mp
                             PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                                    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/include/forktop)
  # plain names, so the exported package needs no pkg-config targets
  target_link_libraries(${t} PRIVATE ${JANSSON_LIBRARIES} m Threads::Threads)
  target_link_directories(${t} PRIVATE ${JANSSON_LIBRARY_DIRS})
  target_include_directories(${t} PRIVATE ${JANSSON_INCLUDE_DIRS})
endforeach()

install(TARGETS ${FT_LIB_TARGETS} EXPORT forktopTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/forktop/forktop.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/forktop)
install(EXPORT forktopTargets NAMESPACE forktop:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forktop)

include(CMakePackageConfigHelpers)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/forktopConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/forktopConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forktop)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/forktopConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/forktopConfig.cmake ${CMAKE_BINARY_DIR}/forktopConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forktop)

# pkg-config: ${prefix} relative, so a DESTDIR or a moved prefix still works
configure_file(${CMAKE_CURRENT_LIST_DIR}/forktop.pc.in ${CMAKE_BINARY_DIR}/forktop.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/forktop.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

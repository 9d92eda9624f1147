# libforktop: the engine people install (core + mp), as libforktop.so and
# libforktop.a, with its header under
# include/forktop/, forktop.pc for pkg-config and a CMake package
# (find_package(forktop) gives forktop::forktop).  The workload language, the
# model and the dashboard are the program's, not the library's.
#
# Its objects are compiled apart from the program's static rooms: position
# independent, every symbol but the public header's functions hidden by a
# version script (libforktop.map.in), while the program keeps its non-PIC build.
set(FT_LIB_SOURCES ${FT_CORE_SOURCES} ${FT_MP_SOURCES})
set(FT_LIB_TARGETS forktop_static)
find_package(Threads REQUIRED) # the queue's process-shared robust mutexes

# The soname and the CMake package's compatibility follow the version: from
# 1.0 on, one soname (libforktop.so.1) per major version; before 1.0 every
# minor version may break the ABI, so the soname carries it too
# (libforktop.so.0.1), and find_package(forktop 0.1) accepts only 0.1.x.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(FT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(FT_COMPATIBILITY SameMinorVersion)
else()
  set(FT_SOVERSION ${PROJECT_VERSION_MAJOR})
  set(FT_COMPATIBILITY ${FT_COMPATIBILITY})
endif()

add_library(forktop_static STATIC ${FT_LIB_SOURCES})
set_target_properties(forktop_static PROPERTIES OUTPUT_NAME forktop EXPORT_NAME forktop_static
                                                POSITION_INDEPENDENT_CODE ON)
# The export list: every function the public header declares (a line that
# starts with its return type and names ft_something followed by "(").
file(STRINGS ${CMAKE_SOURCE_DIR}/include/forktop/forktop.h FT_DECLS REGEX "^[a-z].*[ *]ft_[a-z0-9_]+\\(")
set(FT_EXPORTS "")
foreach(line ${FT_DECLS})
  string(REGEX MATCH "ft_[a-z0-9_]+\\(" fn "${line}")
  string(REPLACE "(" "" fn "${fn}")
  string(APPEND FT_EXPORTS "    ${fn};\n")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/libforktop.map.in ${CMAKE_BINARY_DIR}/libforktop.map @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/forktop/forktop.h)

if(FT_BUILD_SHARED)
  add_library(forktop_shared SHARED ${FT_LIB_SOURCES})
  set_target_properties(forktop_shared PROPERTIES OUTPUT_NAME forktop EXPORT_NAME forktop
                        VERSION ${PROJECT_VERSION} SOVERSION ${FT_SOVERSION}
                        LINK_DEPENDS ${CMAKE_BINARY_DIR}/libforktop.map)
  target_link_options(forktop_shared PRIVATE -Wl,--version-script=${CMAKE_BINARY_DIR}/libforktop.map)
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
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY ${FT_COMPATIBILITY})
install(FILES ${CMAKE_BINARY_DIR}/forktopConfig.cmake ${CMAKE_BINARY_DIR}/forktopConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/forktop)

# pkg-config: libdir and includedir relative to ${prefix} (unless given
# absolute), and the prefix written at install time, so that
# `cmake --install build --prefix P` gives a forktop.pc that points into P,
# not at the prefix the build was configured with.  Under DESTDIR the file
# still names the real prefix (DESTDIR is only where the files are staged).
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(FT_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(FT_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
# Without the shared library, -lforktop is the static one: what it needs is
# then needed by every link, not only by --static ones.
set(FT_PC_NEEDS "-lm -pthread")
if(FT_BUILD_SHARED)
  set(FT_PC_PRIVATE ".private")
  set(FT_PC_LIBS "")
  set(FT_PC_LIBS_PRIVATE "${FT_PC_NEEDS}")
else()
  set(FT_PC_PRIVATE "")
  set(FT_PC_LIBS " ${FT_PC_NEEDS}")
  set(FT_PC_LIBS_PRIVATE "")
endif()
set(FT_PC_PREFIX "@CMAKE_INSTALL_PREFIX@") # filled in by the second pass, at install
configure_file(${CMAKE_CURRENT_LIST_DIR}/forktop.pc.in ${CMAKE_BINARY_DIR}/forktop.pc.in @ONLY)
install(CODE "configure_file(\"${CMAKE_BINARY_DIR}/forktop.pc.in\" \"${CMAKE_BINARY_DIR}/forktop.pc\" @ONLY)")
install(FILES ${CMAKE_BINARY_DIR}/forktop.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

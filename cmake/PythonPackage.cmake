# Installs the Python package (capi/python/mproc) into the Python site directory under the install
# prefix, and records the installed library's path in it (mproc/_libpath.txt), so that
# `import mproc` finds libmproc.so.0 wherever the prefix is. The directory is Debian python3's for
# that prefix (lib/python3.X/dist-packages, on its path for /usr/local) unless
# MPROC_PYTHON_SITEDIR (relative to the prefix, or absolute) says otherwise; the install step
# prints it. No python3 found: the package is not installed (said at configure time).
find_program(MPROC_PYTHON3_FOR_INSTALL NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT MPROC_PYTHON3_FOR_INSTALL)
  find_program(MPROC_PYTHON3_FOR_INSTALL NAMES python3)
endif()
if(NOT MPROC_PYTHON3_FOR_INSTALL)
  message(STATUS "python3 not found: the Python package will not be installed")
  return()
endif()
if(NOT MPROC_PYTHON_SITEDIR)
  # posix_local is Debian's scheme for /usr/local (dist-packages); posix_prefix elsewhere.
  execute_process(
    COMMAND ${MPROC_PYTHON3_FOR_INSTALL} -c
      "import sysconfig as s; n = 'posix_local' if 'posix_local' in s.get_scheme_names() else 'posix_prefix'; print(s.get_path('purelib', n, vars={'base': '@B@', 'platbase': '@B@'}).replace('@B@/', '', 1).replace('local/', '', 1) if n == 'posix_local' else s.get_path('purelib', n, vars={'base': '@B@', 'platbase': '@B@'}).replace('@B@/', '', 1))"
    OUTPUT_VARIABLE mproc_python_sitedir OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE mproc_python_failed)
  if(mproc_python_failed OR NOT mproc_python_sitedir)
    message(STATUS "python3 gave no site directory: the Python package will not be installed")
    return()
  endif()
  set(MPROC_PYTHON_SITEDIR "${mproc_python_sitedir}" CACHE STRING
      "Where the Python package is installed (relative to the prefix, or absolute)")
endif()
install(DIRECTORY capi/python/mproc DESTINATION ${MPROC_PYTHON_SITEDIR}
        PATTERN "__pycache__" EXCLUDE PATTERN "_libpath.txt" EXCLUDE)
set(mproc_soname "${CMAKE_SHARED_LIBRARY_PREFIX}mproc${CMAKE_SHARED_LIBRARY_SUFFIX}.${PROJECT_VERSION_MAJOR}")
# Written at install time, with the prefix installed to (as mproc.pc), into the staged tree.
install(CODE "
  set(mproc_site [[${MPROC_PYTHON_SITEDIR}]])
  set(mproc_libdir [[${CMAKE_INSTALL_LIBDIR}]])
  if(NOT IS_ABSOLUTE \"\${mproc_site}\")
    set(mproc_site \"\${CMAKE_INSTALL_PREFIX}/\${mproc_site}\")
  endif()
  if(NOT IS_ABSOLUTE \"\${mproc_libdir}\")
    set(mproc_libdir \"\${CMAKE_INSTALL_PREFIX}/\${mproc_libdir}\")
  endif()
  file(WRITE \"\$ENV{DESTDIR}\${mproc_site}/mproc/_libpath.txt\" \"\${mproc_libdir}/${mproc_soname}\\n\")
  message(STATUS \"Python package mproc installed in \${mproc_site} (import mproc; add it to \"
                 \"PYTHONPATH if that directory is not on python3's path)\")")

# The API reference: Doxygen over the public headers only. `--target docs`
# writes HTML to <build>/docs/api/html/index.html and every warning to
# <build>/docs/doxygen-warnings.txt (scripts/test fails when it is not empty).

find_package(Doxygen)
if(NOT DOXYGEN_FOUND)
  return()
endif()

set(DOXYGEN_PROJECT_NAME uptls)
set(DOXYGEN_PROJECT_NUMBER ${PROJECT_VERSION})
set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
set(DOXYGEN_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/docs/api)
set(DOXYGEN_STRIP_FROM_PATH ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include)
set(DOXYGEN_STRIP_FROM_INC_PATH ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include)
set(DOXYGEN_FILE_PATTERNS *.hpp)
set(DOXYGEN_RECURSIVE YES)
# detail/ holds template internals, not API.
set(DOXYGEN_EXCLUDE_PATTERNS */detail/*)
set(DOXYGEN_EXCLUDE_SYMBOLS detail *::detail)
set(DOXYGEN_EXTRACT_ALL NO)
set(DOXYGEN_EXTRACT_PRIVATE NO)
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_WARN_IF_DOC_ERROR YES)
set(DOXYGEN_WARN_NO_PARAMDOC NO)
set(DOXYGEN_WARN_LOGFILE ${PROJECT_BINARY_DIR}/docs/doxygen-warnings.txt)
set(DOXYGEN_QUIET YES)
# UPTLS_API is an attribute, not part of the API's text.
set(DOXYGEN_ENABLE_PREPROCESSING YES)
set(DOXYGEN_MACRO_EXPANSION YES)
set(DOXYGEN_EXPAND_ONLY_PREDEF YES)
set(DOXYGEN_PREDEFINED "UPTLS_API=")
set(DOXYGEN_GENERATE_HTML YES)
set(DOXYGEN_GENERATE_LATEX NO)
set(DOXYGEN_HAVE_DOT NO)
set(DOXYGEN_JAVADOC_AUTOBRIEF YES)

doxygen_add_docs(uptls_docs
  ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
  COMMENT "uptls API reference: ${PROJECT_BINARY_DIR}/docs/api/html/index.html")
if(PROJECT_IS_TOP_LEVEL)
  add_custom_target(docs)
  add_dependencies(docs uptls_docs)
endif()

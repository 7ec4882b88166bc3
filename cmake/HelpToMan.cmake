# Turns a program's --help output into a roff man page, gzipped with -9n (no name, no time stamp:
# the same bytes on every build). help2man without the dependency; run at build time:
#   cmake -DPROGRAM=path/to/tandemd -DNAME=tandemd -DSUMMARY="..." -DVERSION=0.1.0
#         -DSEE_ALSO="tandem(1)" -DOUT=dir/tandemd.1 -P cmake/HelpToMan.cmake    -> dir/tandemd.1.gz
# The page: NAME (NAME \- SUMMARY), then the help text verbatim (.nf) under DESCRIPTION.
foreach(var PROGRAM NAME SUMMARY VERSION OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "HelpToMan.cmake: -D${var}=... is required")
  endif()
endforeach()
execute_process(COMMAND "${PROGRAM}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc TIMEOUT 30)
if(NOT rc EQUAL 0 OR help STREQUAL "")
  message(FATAL_ERROR "HelpToMan.cmake: '${PROGRAM} --help' exited ${rc} with output '${help}'")
endif()

# roff escapes: backslash first, then minus signs, then lines that would read as requests.
string(REPLACE "\\" "\\e" help "${help}")
string(REPLACE "-" "\\-" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
string(TOUPPER "${NAME}" upper)
set(page ".TH ${upper} 1 \"\" \"${NAME} ${VERSION}\" \"Tandem\"\n")
string(APPEND page ".SH NAME\n${NAME} \\- ${SUMMARY}\n")
string(APPEND page ".SH DESCRIPTION\nThe text below is the output of \\fB${NAME} \\-\\-help\\fR.\n")
string(APPEND page ".PP\n.nf\n${help}.fi\n")
if(DEFINED SEE_ALSO)
  string(APPEND page ".SH SEE ALSO\n${SEE_ALSO}\n")
endif()
file(WRITE "${OUT}" "${page}")
file(REMOVE "${OUT}.gz")
execute_process(COMMAND gzip -9n "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "HelpToMan.cmake: gzip -9n ${OUT} failed")
endif()

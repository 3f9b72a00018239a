# Generates a .cc defining brfed::manager::kBuiltinWorkflows from workflow YAML files.
# Usage: cmake -DOUT=<file.cc> -DFILES="<a.yaml|b.yaml>" -P embed_workflows.cmake
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
set(count 0)
foreach(f IN LISTS FILES)
  file(READ ${f} text)
  get_filename_component(name ${f} NAME)
  string(APPEND body "    {\"${name}\", R\"brfed_yaml(${text})brfed_yaml\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from workflows/*.yaml. Do not edit.\n#include \"manager/builtin_workflows.h\"\n\nnamespace brfed::manager {\n\nconst BuiltinWorkflow kBuiltinWorkflows[] = {\n${body}};\nconst size_t kBuiltinWorkflowCount = ${count};\n\n}  // namespace brfed::manager\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})

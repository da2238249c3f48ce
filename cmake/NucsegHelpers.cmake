# Warnings for one target (applied per target, never globally).
function(nucseg_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
endfunction()

# nucseg_add_test(NAME <name> SOURCES <files...> LIBS <nucseg modules...> LABELS <labels...>
#                 [MPI <ranks>] [TIMEOUT <s>])
# A GoogleTest program registered with CTest, linked with the modules it tests (LIBS); MPI
# tests run through mpiexec.
function(nucseg_add_test)
  cmake_parse_arguments(T "" "NAME;MPI;TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  # OpenCV: fixtures draw and write images.
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} ${OpenCV_LIBS} GTest::gtest)
  if(T_MPI)
    target_link_libraries(${T_NAME} PRIVATE nucseg_mpi_test_main)
    add_test(NAME ${T_NAME}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_MPI}
              --allow-run-as-root --oversubscribe --bind-to none
              $<TARGET_FILE:${T_NAME}>)
  else()
    target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main)
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  endif()
  nucseg_set_warnings(${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "NUCSEG_SOURCE_DIR=${PROJECT_SOURCE_DIR};NUCSEG_BINARY_DIR=${PROJECT_BINARY_DIR};OMP_NUM_THREADS=1")
endfunction()

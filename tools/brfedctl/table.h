// Table: a tiny column-aligned text table for brfedctl's human output.
//
//   Table t({"RUN", "STATE", "STEPS"});
//   t.AddRow({"r1", "Running", "2/5"});
//   t.Print(std::cout);
//   // RUN  STATE    STEPS
//   // r1   Running  2/5
//
// Cells are printed as given; columns are padded to their widest cell, two spaces apart, and
// the last column is not padded. Not thread-safe.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace brfed::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // A row with fewer cells than the header is padded with empty cells; extra cells are kept
  // and widen the table.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace brfed::ctl

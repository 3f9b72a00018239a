// Scenario scripts: text files of events with golden output, run through the one RunMachine
// (the format of etcd-io/raft's testdata, "datadriven"). Each block is a command, an optional
// indented body, a "----" line and the command's expected output, ended by a blank line:
//
//   workflow
//     name: fanout
//     steps:
//       - {id: snap, action: test.echo, forEach: $(params.zones), with: {value: $(item)}}
//   ----
//   loaded fanout steps=1 finally=0
//
//   start run=r1 params={"zones":["a","b"]} seed=7 at=0s
//   ----
//   1 RunStarted t=+0s workflow=fanout hash=... seed=7 params={"zones":["a","b"]}
//
// Commands (times are offsets from the Unix epoch, as durations: at=1m30s):
//   workflow + body                 loads the YAML body against the catalog
//   start run=ID [params=JSON] [seed=N] [hash=H] at=T         journals RunStarted
//   effects at=T                    prints the records NextEffects(T) returns, applies them,
//                                   then "wake_at=<time|none>"
//   result step=S [item=I] [attempt=N] done [outputs=JSON] at=T
//   result step=S [item=I] [attempt=N] fail code=NAME [retryable] [msg="..."] at=T
//   timeout step=S [item=I] [attempt=N] at=T
//   observe step=S [item=I] [attempt=N] msg="..." at=T
//   start-attempt step=S [item=I] attempt=N [key=K] at=T      (a raw AttemptStarted)
//   cancel [reason="..."] at=T
//   finish state=NAME [msg="..."] at=T                         (a raw RunFinished)
//   state                           the run view (engine/run_format.h text)
//   attempts                        running attempts with their resolved `with`
//   journal                         every record applied so far
//   replay [until=N]                ReplayRun of the journal; without until, also checks that
//                                   the replayed view equals the live one
// A record the machine rejects prints "error: <status>" and is not journaled. Every script
// ends with an implicit check that replaying its journal gives the live state.
// Lines starting with '#' between blocks are comments and are kept.
#pragma once

#include <string>
#include <string_view>

#include "brfed/status.h"
#include "brfed/workflow.h"

namespace brfed {

// Runs `script` and returns it with every block's output replaced by the actual output. A test
// compares the result with the file; a rewrite writes it back. Errors: kInvalidArgument for a
// script that cannot be parsed ("<name>:<line>: ..."), kInternal when the journal of the run
// does not replay to the live state.
Result<std::string> RunScenario(std::string_view script, std::string_view name,
                                const ActionCatalog& catalog);

// A fixed catalog for scenarios and tests: test.noop {}, test.sleep {duration},
// test.fail {times, message?}, test.append {path, text}, test.echo {value} (as in brfed/step.h)
// and test.generic, which accepts any of {value, member, zone, zones, id, ids, name, items,
// text, message, snapshot, count, target} and requires none.
const ActionCatalog& ScenarioCatalog();

}  // namespace brfed

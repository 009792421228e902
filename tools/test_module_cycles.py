"""Tests of module_cycles.py on tiny crates written to a temporary folder.

    python3 -m unittest discover -s tools -p 'test_*.py'
"""
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = pathlib.Path(__file__).with_name("module_cycles.py")


class ModuleCycles(unittest.TestCase):
    def crate(self, files):
        """A crate of `files` (path under src/ -> text); returns its folder."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        root = pathlib.Path(folder.name) / "demo"
        for path, text in files.items():
            file = root / "src" / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(textwrap.dedent(text))
        return root

    def run_tool(self, crate, *flags):
        done = subprocess.run(
            [sys.executable, str(SCRIPT), *flags, str(crate)],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stdout

    def test_a_crate_importing_downward_only_passes(self):
        crate = self.crate(
            {
                "lib.rs": """
                    mod base;
                    mod parts;
                    pub use parts::Part;
                    pub fn make() -> Part { parts::Part::new(base::SIZE) }
                """,
                "base.rs": "pub const SIZE: usize = 4;\n",
                "parts/mod.rs": """
                    mod one;
                    mod two;
                    pub use one::Part;
                    // A test may reach for anything.
                    #[cfg(test)]
                    mod tests { use crate::make; }
                """,
                "parts/one.rs": """
                    use crate::base::SIZE;
                    pub struct Part(usize);
                    impl Part { pub fn new(n: usize) -> Part { Part(n.min(SIZE)) } }
                """,
                # `super::Part` and `crate::Part` are re-exports of a
                # sibling's item: no import from the parent.
                "parts/two.rs": """
                    use super::Part;
                    pub fn twice() -> (Part, crate::Part) { (Part::new(1), Part::new(2)) }
                    const TEXT: &str = "use crate::make; super::Nothing";
                """,
            }
        )
        for flags in ([], ["--layers"]):
            code, out = self.run_tool(crate, *flags)
            self.assertEqual(code, 0, out)
            self.assertIn("no cycle", out)

    def test_a_module_importing_its_parent_fails_with_layers(self):
        crate = self.crate(
            {
                "lib.rs": "mod sources;\n",
                "sources/mod.rs": """
                    mod files;
                    pub enum Source { Files }
                """,
                "sources/files.rs": """
                    use super::Source;

                    pub fn pick() -> Source { Source::Files }
                """,
            }
        )
        code, out = self.run_tool(crate)
        self.assertEqual(code, 0, "no cycle of files: " + out)
        code, out = self.run_tool(crate, "--layers")
        self.assertEqual(code, 1, out)
        self.assertIn(str(pathlib.Path("src", "sources", "files.rs")) + ":2: `super::Source`", out)
        self.assertIn("imports from demo::sources, which encloses demo::sources::files", out)
        self.assertIn("1 imports run back up", out)

    def test_a_binary_module_importing_the_crate_root_fails_with_layers(self):
        crate = self.crate(
            {
                "main.rs": """
                    mod preview;
                    struct Cli;
                    fn main() { preview::run(); }
                """,
                "preview.rs": "pub fn run() { let _ = crate::Cli; }\n",
            }
        )
        code, out = self.run_tool(crate)
        self.assertEqual(code, 1, "main and preview name each other: " + out)
        self.assertIn("cycle demo -> demo::preview -> demo", out)
        code, out = self.run_tool(crate, "--layers")
        self.assertEqual(code, 1, out)
        self.assertIn("preview.rs:1: `crate::Cli` imports from demo, which encloses demo::preview", out)

    def test_folders_importing_each_other_fail_with_layers(self):
        # services/camera.rs -> shared.rs -> services/search.rs: no pair of
        # files forms a cycle, but the folder and the file do.
        crate = self.crate(
            {
                "lib.rs": "mod services;\nmod shared;\n",
                "services/mod.rs": "pub mod camera;\npub mod search;\n",
                "services/camera.rs": """
                    use crate::shared::Shared;
                    pub struct Camera(Shared);
                """,
                "services/search.rs": "pub struct Search;\n",
                "shared.rs": """
                    use crate::services::search::Search;
                    pub struct Shared(Search);
                """,
            }
        )
        code, out = self.run_tool(crate)
        self.assertEqual(code, 0, "no cycle of files: " + out)
        code, out = self.run_tool(crate, "--layers")
        self.assertEqual(code, 1, out)
        self.assertIn("the modules under demo import each other in a loop: demo::services, demo::shared", out)
        # One import each way: the tie goes to the order by name, which
        # puts `services` below `shared`.
        self.assertIn("camera.rs:2: `crate::shared::Shared` runs back up", out)
        self.assertNotIn("`crate::services::search::Search` runs back up", out)

    def test_the_side_with_fewer_imports_is_the_one_reported(self):
        crate = self.crate(
            {
                "lib.rs": "mod error;\nmod sources;\n",
                "error.rs": """
                    use crate::sources::search::SearchError;
                    pub enum RequestError { Search(SearchError) }
                """,
                "sources/mod.rs": """
                    mod files;
                    pub mod search;
                    mod url;
                """,
                "sources/files.rs": "use crate::error::RequestError;\n",
                "sources/url.rs": "use crate::error::RequestError;\n",
                "sources/search.rs": "pub struct SearchError;\n",
            }
        )
        code, out = self.run_tool(crate, "--layers")
        self.assertEqual(code, 1, out)
        self.assertIn("error.rs:2: `crate::sources::search::SearchError` runs back up", out)
        self.assertNotIn("`crate::error::RequestError` runs back up", out)


if __name__ == "__main__":
    unittest.main()

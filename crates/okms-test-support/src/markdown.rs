//! The shell commands of a Markdown document, for the tests that run the commands the docs
//! print (the top README, the recipes): what a reader would type, one entry per command.

/// One command of a ```` ```sh ```` block: its continuation lines joined, its trailing
/// ` # comment` apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellCommand {
    /// The command as a shell reads it, on one line, without the comment.
    pub line: String,
    /// The text after ` #` on the command's last line, trimmed (`tested` in the recipes).
    pub comment: Option<String>,
}

/// The commands of every ```` ```sh ```` block of `markdown`, in order. Lines continued with a
/// trailing `\` are joined; a comment is taken from the command's last line only, since a
/// continued line's comment would end the command in a shell. Lines that hold only a comment
/// are dropped.
pub fn shell_commands(markdown: &str) -> Vec<ShellCommand> {
    let mut commands = Vec::new();
    let mut in_shell = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_shell = !in_shell && line.trim_start_matches('`').starts_with("sh");
            continue;
        }
        if !in_shell {
            continue;
        }
        let (code, comment) = split_comment(line);
        let continued = code.trim_end().strip_suffix('\\');
        pending.push_str(continued.unwrap_or(code).trim());
        pending.push(' ');
        if continued.is_none() {
            let command = pending.trim().to_owned();
            pending.clear();
            if !command.is_empty() {
                commands.push(ShellCommand {
                    line: command,
                    comment: comment.map(|c| c.trim().to_owned()),
                });
            }
        }
    }
    commands
}

/// A line and its ` # comment` (a `#` after a space, as the docs write them; a `#` inside a
/// word, such as a URL fragment, is not a comment).
fn split_comment(line: &str) -> (&str, Option<&str>) {
    if let Some(rest) = line.strip_prefix('#') {
        return ("", Some(rest));
    }
    match line.find(" #") {
        Some(i) => (&line[..i], Some(&line[i + 2..])),
        None => (line, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continued_lines_are_one_command_with_the_last_lines_comment() {
        let md = "text\n```sh\nokms-cli a \\\n    --b c   # tested\n# only a comment\nls  # not\n```\n\
                  ```ini\nx=1 # no\n```\n";
        assert_eq!(
            shell_commands(md),
            vec![
                ShellCommand {
                    line: "okms-cli a --b c".to_owned(),
                    comment: Some("tested".to_owned()),
                },
                ShellCommand {
                    line: "ls".to_owned(),
                    comment: Some("not".to_owned()),
                },
            ]
        );
    }
}

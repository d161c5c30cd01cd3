//! A port of the semantics of Go's `text/tabwriter` as kubectl configures it
//! (`minwidth 6, tabwidth 4, padding 3, padchar ' ', flags 0`), so tables match byte for byte.
//!
//! Text is split into lines and cells; a cell is terminated by `\t`, and the text after a line's
//! last tab is not part of any column. Consecutive lines that have a cell in column `c` form a
//! column block whose width is the widest cell plus padding (at least `minwidth`).

/// kubectl's tabwriter settings.
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

/// Aligns tab-terminated cells into columns.
pub fn align(text: &str) -> String {
    let lines = Lines::split(text);
    // A trailing newline leaves one empty last line; it is written without a newline.
    let mut out = String::with_capacity(text.len() * 2);
    let mut widths = Vec::new();
    format(&mut out, &mut widths, &lines, 0, lines.len());
    out
}

/// Every line's cells, in one array (a table of 100,000 lines is one allocation, not one per line).
struct Lines<'a> {
    cells: Vec<&'a str>,
    /// Where each line's cells start in `cells`, and one more entry for the end.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn split(text: &'a str) -> Lines<'a> {
        let mut lines = Lines { cells: Vec::with_capacity(text.len() / 8), starts: vec![0] };
        for line in text.split('\n') {
            lines.cells.extend(line.split('\t'));
            lines.starts.push(lines.cells.len());
        }
        lines
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn line(&self, i: usize) -> &[&'a str] {
        &self.cells[self.starts[i]..self.starts[i + 1]]
    }
}

fn cell_width(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

/// Appends `n` spaces.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

fn format(out: &mut String, widths: &mut Vec<usize>, lines: &Lines<'_>, mut line0: usize, line1: usize) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines.line(this).len() {
            this += 1;
            continue;
        }
        write_lines(out, widths, lines, line0, this);
        line0 = this;
        let mut width = MIN_WIDTH;
        while this < line1 {
            let line = lines.line(this);
            if column + 1 >= line.len() {
                break;
            }
            width = width.max(cell_width(line[column]) + PADDING);
            this += 1;
        }
        widths.push(width);
        format(out, widths, lines, line0, this);
        widths.pop();
        line0 = this;
    }
    write_lines(out, widths, lines, line0, line1);
}

fn write_lines(out: &mut String, widths: &[usize], lines: &Lines<'_>, line0: usize, line1: usize) {
    let total = lines.len();
    for i in line0..line1 {
        for (j, cell) in lines.line(i).iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                pad(out, widths[j].saturating_sub(cell_width(cell)));
            }
        }
        if i + 1 != total {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn columns_pad_to_widest_plus_three_with_min_six() {
        assert_eq!(align("NAME\tCPU\t\nnode-a\t1m\t\n"), "NAME     CPU   \nnode-a   1m    \n");
        assert_eq!(align("a\tb\n"), "a     b\n");
        assert_eq!(align(""), "");
    }

    #[test]
    fn blocks_end_where_a_line_has_fewer_cells() {
        // The second line has no cell in column 1, so lines 1 and 3 form separate blocks there.
        let got = align("x\tlong-cell\t\nyy\t\nz\ts\t\n");
        assert_eq!(got, "x     long-cell   \nyy    \nz     s     \n");
    }
}

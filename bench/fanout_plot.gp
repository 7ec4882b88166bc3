# Renders fanout_bench's data file: delivered records/s (total and per destination) and the
# source's CPU per delivered record, against the number of destinations.
#
#   gnuplot -e "data='fanout.dat'; out='docs/fanout.png'" bench/fanout_plot.gp
#
# Columns (see the data file's header): 1 dests, 4 delivered/s per destination, 5 delivered/s
# total, 7 source CPU µs per delivered record.
if (!exists("data")) data = "fanout.dat"
if (!exists("out")) out = "fanout.png"

set terminal pngcairo size 900,700 font ",10"
set output out
set encoding utf8
set logscale x 2
set xrange [0.8:90]
set xtics (1, 2, 4, 8, 16, 32, 64)
set grid
set key top left

set multiplot layout 2,1 title "One tandemd source, N async destinations (1 KiB records, 127.0.0.1)"

set ylabel "delivered records/s"
set format y "%.0s%c"
set yrange [0:*]
plot data using 1:5 with linespoints lw 2 pt 7 title "total (published x N / elapsed)", \
     data using 1:4 with linespoints lw 2 pt 5 title "per destination"

set xlabel "destinations (N)"
set key top right
set ylabel "source CPU µs per delivered record"
set format y "%.1f"
plot data using 1:7 with linespoints lw 2 pt 7 lc rgb "#c03030" title "source utime+stime / (published x N)"

unset multiplot

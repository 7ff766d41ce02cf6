"""China's holiday calendar: public holidays and adjusted working weekends (调休) by year."""
